-- Only sent notifications are looked up by when they were sent (the cost
-- report's range). Leaving the unsent out of this index spares every
-- accepted notification, and on PostgreSQL every claim, one index entry.
DROP INDEX notifications_sent_at;
CREATE INDEX notifications_sent_at ON notifications (tenant_id, sent_at) WHERE sent_at IS NOT NULL;
