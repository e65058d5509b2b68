-- Version 4: outbound — when each notification was sent (monthly cost
-- reports), and one-click unsubscribes of recipients who are not stored
-- subscribers. Written assuming version 3 (timeline, suppressions,
-- consent_ledger) may or may not have run before it.

ALTER TABLE notifications ADD COLUMN sent_at BIGINT;
CREATE INDEX notifications_sent_at ON notifications (tenant_id, sent_at);

-- The same table version 3 creates; here only where it does not exist yet.
CREATE TABLE IF NOT EXISTS suppressions (
    tenant_id     TEXT NOT NULL,
    channel       TEXT NOT NULL,
    address_hash  TEXT NOT NULL,
    reason        TEXT NOT NULL,
    source        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, channel, address_hash)
);

-- Short links in SMS: `{public_url}/l/{code}` redirects to `url` (sealed:
-- links can carry personal tokens) and records a click for the notification.
CREATE TABLE short_links (
    code             TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    notification_id  TEXT NOT NULL,
    url              TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);

CREATE TABLE link_clicks (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    notification_id  TEXT NOT NULL,
    code             TEXT NOT NULL,
    at               BIGINT NOT NULL
);
CREATE INDEX link_clicks_notification ON link_clicks (tenant_id, notification_id);
