-- The full-text rows take their document's rowid, so a document's index
-- row is found by rowid rather than by scanning the whole index.
DELETE FROM catalog_fts;
INSERT INTO catalog_fts (rowid, tenant_id, document_id, words)
    SELECT rowid, tenant_id, document_id, words FROM catalog_documents;
