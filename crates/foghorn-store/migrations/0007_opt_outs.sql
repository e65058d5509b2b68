-- Version 6: opt-outs belong to the person, not to the profile the
-- application PUTs. Each is a row of its own, scoped to a channel and, for
-- a one-click unsubscribe or the preference centre, to one category; a
-- profile update that does not mention opt-outs leaves them alone. The
-- consent ledger records subscribers' opt-outs and opt-ins as well as
-- addresses', with the category and who made the change.

CREATE TABLE opt_outs (
    tenant_id      TEXT NOT NULL,
    subscriber_id  TEXT NOT NULL,
    channel        TEXT NOT NULL,
    -- '' for every category of the channel.
    category       TEXT NOT NULL,
    -- one-click, page or api.
    source         TEXT NOT NULL,
    -- The audit actor: recipient:one-click, key:<id>, …
    actor          TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, subscriber_id, channel, category)
);

-- The opt-out lists kept on the profile until now. Channel names are a
-- closed set, quoted inside the JSON array.
INSERT INTO opt_outs (tenant_id, subscriber_id, channel, category, source, actor, created_at)
  SELECT tenant_id, external_id, 'email', '', 'api', 'migration', updated_at FROM subscribers WHERE opt_out LIKE '%"email"%';
INSERT INTO opt_outs (tenant_id, subscriber_id, channel, category, source, actor, created_at)
  SELECT tenant_id, external_id, 'sms', '', 'api', 'migration', updated_at FROM subscribers WHERE opt_out LIKE '%"sms"%';
INSERT INTO opt_outs (tenant_id, subscriber_id, channel, category, source, actor, created_at)
  SELECT tenant_id, external_id, 'voice', '', 'api', 'migration', updated_at FROM subscribers WHERE opt_out LIKE '%"voice"%';
INSERT INTO opt_outs (tenant_id, subscriber_id, channel, category, source, actor, created_at)
  SELECT tenant_id, external_id, 'whatsapp', '', 'api', 'migration', updated_at FROM subscribers WHERE opt_out LIKE '%"whatsapp"%';
INSERT INTO opt_outs (tenant_id, subscriber_id, channel, category, source, actor, created_at)
  SELECT tenant_id, external_id, 'slack', '', 'api', 'migration', updated_at FROM subscribers WHERE opt_out LIKE '%"slack"%';
INSERT INTO opt_outs (tenant_id, subscriber_id, channel, category, source, actor, created_at)
  SELECT tenant_id, external_id, 'discord', '', 'api', 'migration', updated_at FROM subscribers WHERE opt_out LIKE '%"discord"%';
INSERT INTO opt_outs (tenant_id, subscriber_id, channel, category, source, actor, created_at)
  SELECT tenant_id, external_id, 'webhook', '', 'api', 'migration', updated_at FROM subscribers WHERE opt_out LIKE '%"webhook"%';
ALTER TABLE subscribers DROP COLUMN opt_out;

-- The ledger, rebuilt (SQLite cannot relax NOT NULL in place): a
-- subscriber's opt-out names the subscriber and may know no address.
CREATE TABLE consent_ledger_v6 (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL,
    channel        TEXT NOT NULL,
    address_hash   TEXT,
    address        TEXT,
    subscriber_id  TEXT,
    category       TEXT,
    action         TEXT NOT NULL,
    keyword        TEXT,
    provider       TEXT,
    source         TEXT NOT NULL,
    actor          TEXT,
    at             BIGINT NOT NULL
);
INSERT INTO consent_ledger_v6 (id, tenant_id, channel, address_hash, address, action, keyword, provider, source, at)
  SELECT id, tenant_id, channel, address_hash, address, action, keyword, provider, source, at FROM consent_ledger;
DROP TABLE consent_ledger;
ALTER TABLE consent_ledger_v6 RENAME TO consent_ledger;
CREATE INDEX consent_ledger_address ON consent_ledger (tenant_id, channel, address_hash, at);
CREATE INDEX consent_ledger_subscriber ON consent_ledger (tenant_id, subscriber_id, at);
