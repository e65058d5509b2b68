-- A tenant's named team destinations (`#alerts` → a Slack channel id and a
-- Discord channel id, each with its mention), as JSON beside its budgets.
ALTER TABLE tenant_policies ADD COLUMN destinations TEXT;
