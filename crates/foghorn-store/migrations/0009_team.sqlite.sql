-- The catalog's words, as keyed hashes of their prefixes (the store's
-- blind index: titles and boats are sealed), kept by the store beside each
-- catalog row in the same transaction.
CREATE VIRTUAL TABLE catalog_fts USING fts5(
    tenant_id UNINDEXED,
    document_id UNINDEXED,
    words
);
