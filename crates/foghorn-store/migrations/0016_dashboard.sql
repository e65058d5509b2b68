-- Dashboard sign-ins: an API key exchanged for a session. Only the hash of
-- the cookie's secret is kept; the key it came from is kept so that
-- revoking the key ends its sessions.
CREATE TABLE ui_sessions (
    id_hash     TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX ui_sessions_expiry ON ui_sessions (expires_at);
-- The overview counts a window of a tenant's notifications by channel,
-- provider and status from this index alone (it covers every column read).
CREATE INDEX notifications_overview ON notifications (tenant_id, created_at, channel, provider, status, sent_at);
-- The notifications list filtered by subscriber, newest first.
CREATE INDEX notifications_subscriber ON notifications (tenant_id, subscriber_id, id) WHERE subscriber_id IS NOT NULL;
-- A notification's page shows what the sandbox captured for it.
CREATE INDEX sandbox_messages_notification ON sandbox_messages (tenant_id, notification_id);
-- The overview's counts of settled hours (a day old and more), so that a
-- 30-day window reads some 720 rows per group instead of every
-- notification; the last day is always counted live.
CREATE TABLE overview_hourly (
    tenant_id  TEXT NOT NULL,
    hour       BIGINT NOT NULL,
    channel    TEXT NOT NULL,
    provider   TEXT NOT NULL,
    status     TEXT NOT NULL,
    bucket     BIGINT NOT NULL,
    count      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, hour, channel, provider, status, bucket)
);
-- Per tenant: hours before `until_ms` are in overview_hourly.
CREATE TABLE overview_progress (
    tenant_id  TEXT PRIMARY KEY,
    until_ms   BIGINT NOT NULL
);
