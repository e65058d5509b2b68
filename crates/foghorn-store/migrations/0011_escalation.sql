-- An escalation is a notification held until its time and sent only if
-- the notification it escalates (`escalates`, the first of its person's
-- step) has not been acknowledged by then; an acknowledgement cancels the
-- ones still waiting.
ALTER TABLE notifications ADD COLUMN escalates TEXT;
CREATE INDEX notifications_escalates ON notifications (tenant_id, escalates) WHERE escalates IS NOT NULL;

-- What a call says, as rendered when it was placed: the provider fetches
-- the call's page when it is answered, from any node. Sealed.
CREATE TABLE call_scripts (
    notification_id  TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    script           TEXT NOT NULL,
    locale           TEXT,
    created_at       BIGINT NOT NULL
);
