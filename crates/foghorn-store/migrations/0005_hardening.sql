-- A value sealed under the master key when the database is first used, so a
-- node started with another key ring notices at once instead of failing on
-- every read.
CREATE TABLE key_canary (
    id     TEXT PRIMARY KEY,
    sealed TEXT NOT NULL
);

-- Delivery reports from providers with one webhook URL per account name the
-- message, not the tenant: look it up by the provider's id alone (the tenant
-- filter of the other look-up still uses this index).
DROP INDEX notifications_provider_message;
CREATE INDEX notifications_provider_message ON notifications (provider_message_id) WHERE provider_message_id IS NOT NULL;
