-- WhatsApp: when each number last wrote (a business may send free-form
-- text only within 24 hours of that), and the photos and documents people
-- sent, kept (sealed, size-capped) so every node can serve their links.
CREATE TABLE whatsapp_windows (
    tenant_id        TEXT NOT NULL,
    address_hash     TEXT NOT NULL,
    last_inbound_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, address_hash)
);

CREATE TABLE inbound_media (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    mime_type   TEXT NOT NULL,
    size        BIGINT NOT NULL,
    sha256      TEXT NOT NULL,
    filename    TEXT,
    data        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
