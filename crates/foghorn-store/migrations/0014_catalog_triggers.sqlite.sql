-- The full-text row follows its document row inside SQLite: an accept
-- batch writes its documents in one multi-row statement, with no round
-- trip per document to keep the index.
CREATE TRIGGER catalog_documents_ai AFTER INSERT ON catalog_documents BEGIN
    INSERT INTO catalog_fts (rowid, tenant_id, document_id, words) VALUES (new.rowid, new.tenant_id, new.document_id, new.words); END;
CREATE TRIGGER catalog_documents_au AFTER UPDATE ON catalog_documents BEGIN
    DELETE FROM catalog_fts WHERE rowid = old.rowid; INSERT INTO catalog_fts (rowid, tenant_id, document_id, words) VALUES (new.rowid, new.tenant_id, new.document_id, new.words); END;
CREATE TRIGGER catalog_documents_ad AFTER DELETE ON catalog_documents BEGIN
    DELETE FROM catalog_fts WHERE rowid = old.rowid; END;
