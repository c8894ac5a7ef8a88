-- A tenant's own email provider. `settings` is XChaCha20-Poly1305 ciphertext under
-- the master key `key_id`; `masked` is what may be shown (no secrets).
CREATE TABLE email_providers (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    settings TEXT NOT NULL,
    key_id TEXT NOT NULL,
    masked TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
