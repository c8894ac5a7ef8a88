-- Every table carries tenant_id and every query filters by it. Timestamps are UTC.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    from_email TEXT NOT NULL,
    from_name TEXT,
    recovery_url TEXT,
    policy TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('secret', 'publishable')),
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    label TEXT,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id);

CREATE TABLE carts (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    status TEXT NOT NULL,
    items TEXT NOT NULL,
    item_count INTEGER NOT NULL,
    total_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    customer_email TEXT,
    customer_name TEXT,
    cycle INTEGER NOT NULL,
    next_step INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_activity_at TIMESTAMP NOT NULL,
    abandoned_at TIMESTAMP,
    ordered_at TIMESTAMP,
    deleted_at TIMESTAMP,
    unsubscribed_at TIMESTAMP,
    next_action_at TIMESTAMP,
    locked_by TEXT,
    CONSTRAINT carts_tenant_session_key UNIQUE (tenant_id, session_id)
);
-- The worker's only way in: cost grows with due work, not with the number of carts.
CREATE INDEX carts_next_action_idx ON carts (next_action_at) WHERE next_action_at IS NOT NULL;
CREATE INDEX carts_tenant_status_idx ON carts (tenant_id, status, created_at);

CREATE TABLE recovery_sends (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    cart_id TEXT NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    cycle INTEGER NOT NULL,
    step INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    locked_by TEXT,
    locked_until TIMESTAMP,
    provider TEXT,
    provider_message_id TEXT,
    last_error TEXT,
    next_attempt_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    CONSTRAINT recovery_sends_cart_step_key UNIQUE (cart_id, cycle, step)
);
CREATE INDEX recovery_sends_tenant_idx ON recovery_sends (tenant_id, created_at);

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    order_ref TEXT NOT NULL,
    session_id TEXT,
    cart_id TEXT REFERENCES carts (id) ON DELETE SET NULL,
    total_minor BIGINT,
    currency TEXT NOT NULL,
    attribution TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    CONSTRAINT orders_tenant_ref_key UNIQUE (tenant_id, order_ref)
);
CREATE INDEX orders_tenant_created_idx ON orders (tenant_id, created_at);
