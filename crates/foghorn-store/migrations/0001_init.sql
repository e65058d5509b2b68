-- Foghorn schema, version 1. Written in the SQL that SQLite and PostgreSQL
-- share: TEXT ids, BIGINT epoch milliseconds, JSON kept as TEXT.
-- Every table carries tenant_id so isolation is enforced by the queries.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    hash          TEXT NOT NULL UNIQUE,
    scopes        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);

CREATE TABLE events (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    name             TEXT NOT NULL,
    idempotency_key  TEXT,
    grouping_key     TEXT,
    data             TEXT NOT NULL,
    response         TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    UNIQUE (tenant_id, idempotency_key)
);

CREATE TABLE notifications (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL,
    event_id             TEXT NOT NULL,
    workflow             TEXT NOT NULL,
    step                 BIGINT NOT NULL,
    channel              TEXT NOT NULL,
    subscriber_id        TEXT,
    recipient            TEXT NOT NULL,
    status               TEXT NOT NULL,
    status_reason        TEXT,
    grouping_key         TEXT,
    idempotency_key      TEXT,
    provider             TEXT,
    provider_message_id  TEXT,
    cost_micros          BIGINT,
    currency             TEXT,
    attempts             BIGINT NOT NULL DEFAULT 0,
    parent_id            TEXT,
    send_at              BIGINT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX notifications_tenant_id ON notifications (tenant_id, id);
CREATE INDEX notifications_event ON notifications (tenant_id, event_id);
CREATE INDEX notifications_status ON notifications (tenant_id, status, id);
CREATE INDEX notifications_idem ON notifications (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX notifications_group ON notifications (tenant_id, grouping_key) WHERE grouping_key IS NOT NULL;

-- One row per notification still to be sent. run_at doubles as the lease:
-- claiming pushes it forward, so an expired lease simply becomes due again.
CREATE TABLE jobs (
    notification_id  TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    run_at           BIGINT NOT NULL,
    lease_owner      TEXT,
    attempt          BIGINT NOT NULL DEFAULT 0,
    provider_idx     BIGINT NOT NULL DEFAULT 0,
    claims           BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (run_at);

CREATE TABLE attempts (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    notification_id  TEXT NOT NULL,
    provider         TEXT NOT NULL,
    outcome          TEXT NOT NULL,
    http_status      BIGINT,
    error            TEXT,
    latency_ms       BIGINT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX attempts_notification ON attempts (tenant_id, notification_id);

CREATE TABLE subscribers (
    tenant_id    TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    email        TEXT,
    phone        TEXT,
    whatsapp     TEXT,
    locale       TEXT,
    timezone     TEXT,
    country      TEXT,
    opt_out      TEXT NOT NULL,
    data         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, external_id)
);

CREATE TABLE workflows (
    tenant_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    document    TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE sandbox_messages (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    notification_id  TEXT NOT NULL,
    channel          TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    content          TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX sandbox_messages_tenant ON sandbox_messages (tenant_id, id);

INSERT INTO tenants (id, name, created_at) VALUES ('default', 'default', 0);
