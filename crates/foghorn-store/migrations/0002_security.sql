-- Version 2: tenancy, the audit trail and inbound replay protection.

ALTER TABLE tenants ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE tenants ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN name TEXT;

-- Append-only and hash-chained: each row's hash covers the previous row's
-- hash and its own fields, so an edit, a deletion or a reordering breaks the
-- chain at that row. `audit verify` walks it.
CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);

-- The chain's head: updating it serialises appenders (a row lock on
-- PostgreSQL) and lets `audit verify` notice rows cut from the end.
CREATE TABLE audit_head (
    id    BIGINT PRIMARY KEY,
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, 'genesis');

-- Provider callbacks already applied, for replay protection.
CREATE TABLE inbound_seen (
    tenant_id  TEXT NOT NULL,
    provider   TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    seen_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, provider, event_id)
);
CREATE INDEX inbound_seen_age ON inbound_seen (seen_at);

-- Per-tenant provider accounts, credentials encrypted.
CREATE TABLE tenant_providers (
    tenant_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    config      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

ALTER TABLE subscribers ADD COLUMN email_hash TEXT;
ALTER TABLE subscribers ADD COLUMN phone_hash TEXT;
CREATE INDEX subscribers_email_hash ON subscribers (tenant_id, email_hash);
CREATE INDEX subscribers_phone_hash ON subscribers (tenant_id, phone_hash);
