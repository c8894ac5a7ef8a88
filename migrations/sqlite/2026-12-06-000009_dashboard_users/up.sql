-- The merchant dashboard's people, sign-in links, sessions and sign-in throttle.

-- One person of one tenant. An email signs in to one tenant only, so it is
-- unique across the installation (stored lower-cased). No password until an
-- invited user sets one; the hash is argon2id in PHC form.
CREATE TABLE dashboard_users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    password_hash TEXT,
    role TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_sign_in_at TIMESTAMP
);
CREATE UNIQUE INDEX dashboard_users_email_idx ON dashboard_users (email);
CREATE INDEX dashboard_users_tenant_idx ON dashboard_users (tenant_id, created_at);

-- One-time sign-in links (invitations, `cartback user invite`): only the
-- SHA-256 of the token is kept.
CREATE TABLE dashboard_sign_in_links (
    token_hash TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES dashboard_users(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX dashboard_sign_in_links_user_idx ON dashboard_sign_in_links (tenant_id, user_id);

-- Server-side sessions, keyed by the SHA-256 of the cookie's value, so a copy
-- of the database signs nobody in and deleting a row signs out on every replica.
CREATE TABLE dashboard_sessions (
    id_hash TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES dashboard_users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX dashboard_sessions_user_idx ON dashboard_sessions (tenant_id, user_id);

-- Failed sign-ins per subject (`account:<sha256 of the email>` or `ip:<address>`),
-- in the database so every api replica counts the same. A subject is not a
-- tenant's data (an address may try several shops), so there is no tenant_id.
CREATE TABLE dashboard_sign_in_throttle (
    subject TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_start TIMESTAMP NOT NULL,
    locked_until TIMESTAMP
);
