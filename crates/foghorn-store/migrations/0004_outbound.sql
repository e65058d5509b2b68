-- Version 4: outbound — when each notification was sent (monthly cost
-- reports), and one-click unsubscribes of recipients who are not stored
-- subscribers.

ALTER TABLE notifications ADD COLUMN sent_at BIGINT;
CREATE INDEX notifications_sent_at ON notifications (tenant_id, sent_at);


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
