-- The catalog's words (keyed hashes of their prefixes: titles and boats
-- are sealed), indexed by PostgreSQL from the row itself.
ALTER TABLE catalog_documents ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple', words)
) STORED;
CREATE INDEX catalog_documents_search ON catalog_documents USING GIN (search);
