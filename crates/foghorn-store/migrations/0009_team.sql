-- Team channels: a thread per entity and destination, who acknowledged a
-- notification, and the document catalog that answers /find and
-- /boat-status. The catalog's full-text index is per backend (FTS5 on
-- SQLite, a tsvector with GIN on PostgreSQL), in the files beside this one.

-- The first message about an entity (a boat, a document) on a destination
-- starts a thread; later ones reply in it.
CREATE TABLE team_threads (
    tenant_id     TEXT NOT NULL,
    destination   TEXT NOT NULL,
    grouping_key  TEXT NOT NULL,
    thread        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, destination, grouping_key)
);

-- Acknowledgement is separate from the status: who, when and how.
ALTER TABLE notifications ADD COLUMN acknowledged_at BIGINT;
ALTER TABLE notifications ADD COLUMN acknowledged_by TEXT;
ALTER TABLE notifications ADD COLUMN acknowledged_via TEXT;

-- Documents as the tenant's events describe them, the latest per id.
-- Boat, title, kind and link are sealed; `boat_key` (a keyed hash of the
-- boat's name) finds a boat, and `words` (keyed hashes of the words'
-- prefixes) feeds the full-text index.
CREATE TABLE catalog_documents (
    tenant_id    TEXT NOT NULL,
    document_id  TEXT NOT NULL,
    boat         TEXT NOT NULL,
    boat_key     TEXT NOT NULL,
    title        TEXT NOT NULL,
    kind         TEXT,
    link         TEXT,
    expires_on   TEXT,
    words        TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, document_id)
);
CREATE INDEX catalog_documents_boat ON catalog_documents (tenant_id, boat_key, updated_at);
