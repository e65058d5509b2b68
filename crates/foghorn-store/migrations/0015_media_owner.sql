-- A file someone sent is kept under the sender's address hash, so erasing
-- the person erases their files too.
ALTER TABLE inbound_media ADD COLUMN address_hash TEXT;
CREATE INDEX inbound_media_sender ON inbound_media (tenant_id, address_hash);
