-- Version 3: what providers report back (the timeline), the per-tenant
-- suppression list and the consent ledger. Addresses are never stored in
-- clear: a keyed hash for look-ups and a sealed copy for masking and for
-- re-hashing when the master key rotates.

-- Status callbacks that do not echo our id find the notification by the
-- provider's message id.
CREATE INDEX notifications_provider_message ON notifications (tenant_id, provider_message_id) WHERE provider_message_id IS NOT NULL;

-- The per-subscriber daily SMS cap counts a subscriber's recent SMS.
CREATE INDEX notifications_sms_daily ON notifications (tenant_id, subscriber_id, created_at) WHERE channel = 'sms';

-- What happened to a notification after the send, as its provider reported
-- it. `detail` is sealed: providers' descriptions may quote the address.
CREATE TABLE timeline (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    notification_id  TEXT NOT NULL,
    at               BIGINT NOT NULL,
    kind             TEXT NOT NULL,
    provider         TEXT,
    code             TEXT,
    detail           TEXT
);
CREATE INDEX timeline_notification ON timeline (tenant_id, notification_id, at);

-- Addresses no notification may be sent to, per tenant and channel.
CREATE TABLE suppressions (
    tenant_id     TEXT NOT NULL,
    channel       TEXT NOT NULL,
    address_hash  TEXT NOT NULL,
    id            TEXT NOT NULL UNIQUE,
    -- Sealed; absent when only the hash is known (a one-click unsubscribe
    -- link carries no address).
    address       TEXT,
    reason        TEXT NOT NULL,
    source        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, channel, address_hash)
);
CREATE INDEX suppressions_page ON suppressions (tenant_id, id);
CREATE INDEX suppressions_hash ON suppressions (tenant_id, address_hash);

-- Append-only record of opt-outs and opt-ins (TCPA, GDPR): who, by which
-- keyword or source, through which provider, when.
CREATE TABLE consent_ledger (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    channel       TEXT NOT NULL,
    address_hash  TEXT NOT NULL,
    address       TEXT NOT NULL,
    action        TEXT NOT NULL,
    keyword       TEXT,
    provider      TEXT,
    source        TEXT NOT NULL,
    at            BIGINT NOT NULL
);
CREATE INDEX consent_ledger_address ON consent_ledger (tenant_id, channel, address_hash, at);
