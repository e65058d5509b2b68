-- Version 8: people's choices beyond opt-outs. An opt-in is a yes to a
-- category that is off by default or to SMS marketing (TCPA), with the
-- words the person agreed to; quiet hours are the subscriber's own,
-- untouched by profile updates; a tenant declares its categories, its
-- default quiet hours and its default time zone.

CREATE TABLE opt_ins (
    tenant_id      TEXT NOT NULL,
    subscriber_id  TEXT NOT NULL,
    channel        TEXT NOT NULL,
    category       TEXT NOT NULL,
    source         TEXT NOT NULL,
    actor          TEXT NOT NULL,
    -- The text the person agreed to, when one was shown.
    consent_text   TEXT,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, subscriber_id, channel, category)
);

-- "21:00-08:00", "" for none; NULL follows the tenant's default.
ALTER TABLE subscribers ADD COLUMN quiet_hours TEXT;

ALTER TABLE consent_ledger ADD COLUMN consent_text TEXT;

CREATE TABLE tenant_policies (
    tenant_id   TEXT PRIMARY KEY,
    -- JSON object: category name -> {label, default, channels, marketing}.
    categories  TEXT NOT NULL,
    -- The default for subscribers without their own: "21:00-08:00", or NULL.
    quiet_hours TEXT,
    -- The time zone of subscribers who give none (IANA name), or NULL (UTC).
    timezone    TEXT,
    updated_at  BIGINT NOT NULL
);
