-- A document row is written with its event (one cheap B-tree row) and
-- marked for the full-text index, which a background indexer brings up to
-- date in batches: FTS5 writes a new segment per transaction, so indexing
-- in every accept commit multiplied the pages each commit wrote.
ALTER TABLE catalog_documents ADD COLUMN indexed INTEGER NOT NULL DEFAULT 1;
CREATE INDEX catalog_documents_unindexed ON catalog_documents (indexed) WHERE indexed = 0;
-- A deleted document (an erasure) leaves the index with it.
CREATE TRIGGER catalog_documents_ad AFTER DELETE ON catalog_documents BEGIN
    DELETE FROM catalog_fts WHERE rowid = old.rowid; END;
