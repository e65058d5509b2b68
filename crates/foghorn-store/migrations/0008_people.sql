-- Version 8: people's choices beyond opt-outs. An opt-in is a yes to a
-- category that is off by default or to SMS marketing (TCPA), with the
-- words the person agreed to; quiet hours are the subscriber's own,
-- untouched by profile updates; a tenant declares its categories, its
-- default quiet hours, its default time zone and its monthly budgets.

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
    -- JSON: {"monthly": {"total"|channel: {"amount", "currency"}}, "alert_url"}.
    budgets     TEXT,
    updated_at  BIGINT NOT NULL
);

-- What each tenant spent per month, channel and currency: kept with each
-- recorded send (and each provider-reported price), so a budget is checked
-- with one small read, and spend outlives the rows retention removes.
CREATE TABLE spend_monthly (
    tenant_id  TEXT NOT NULL,
    -- YYYY-MM, UTC, of the send.
    month      TEXT NOT NULL,
    channel    TEXT NOT NULL,
    currency   TEXT NOT NULL,
    micros     BIGINT NOT NULL,
    sends      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, month, channel, currency)
);

-- A budget alert is sent once per month, scope and level.
CREATE TABLE budget_alerts (
    tenant_id  TEXT NOT NULL,
    month      TEXT NOT NULL,
    -- total, or a channel.
    scope      TEXT NOT NULL,
    -- 80 or 100 (percent).
    level      BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, month, scope, level)
);
