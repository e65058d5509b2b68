-- The NaviDocs pack: reminder series, digests, throttles and duplicate
-- suppression, and the signing keys of proofs of notice.

-- A reminder of a series names its offset (`-30d`), so a later event with
-- the same grouping key knows which reminders were already sent.
ALTER TABLE notifications ADD COLUMN series_offset TEXT;
CREATE INDEX notifications_series ON notifications (tenant_id, grouping_key, workflow) WHERE series_offset IS NOT NULL;
-- Throttles count a recipient's notifications of one category.
ALTER TABLE notifications ADD COLUMN category TEXT;
CREATE INDEX notifications_category ON notifications (tenant_id, category, created_at) WHERE category IS NOT NULL;
-- Identical alerts: a keyed hash of (workflow, step, recipient, data).
ALTER TABLE notifications ADD COLUMN dedupe_hash TEXT;
CREATE INDEX notifications_dedupe ON notifications (tenant_id, dedupe_hash, created_at) WHERE dedupe_hash IS NOT NULL;

-- A digest collects the events of one key for one recipient into the one
-- notification that sends them. It is open until that notification starts
-- sending; an event that finds none open starts the next one.
CREATE TABLE digests (
    notification_id  TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    scope            TEXT NOT NULL,
    opened_at        BIGINT NOT NULL,
    closes_at        BIGINT NOT NULL,
    closed_at        BIGINT
);
CREATE UNIQUE INDEX digests_open ON digests (tenant_id, scope) WHERE closed_at IS NULL;
CREATE TABLE digest_items (
    notification_id  TEXT NOT NULL,
    tenant_id        TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (notification_id, event_id)
);

-- Each tenant's Ed25519 key for proofs of notice; the secret half sealed
-- under the master key.
CREATE TABLE proof_keys (
    tenant_id   TEXT PRIMARY KEY,
    public_key  TEXT NOT NULL,
    secret      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
