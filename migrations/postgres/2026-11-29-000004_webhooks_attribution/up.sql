-- Signed outgoing webhooks, how orders were matched, and Stripe.

-- A tenant's webhook endpoints. Secrets are sealed with the master key; during a
-- rotation the previous secret keeps signing until it expires.
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    description TEXT,
    -- JSON array of event names.
    events TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_expires_at TIMESTAMP,
    disabled_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_endpoints_tenant_idx ON webhook_endpoints (tenant_id, created_at);

-- One row per event and endpoint; its id is the webhook-id header, the same on
-- every attempt. next_attempt_at is NULL once nothing more is due; while an attempt
-- is in flight it holds the lease's end, so a crashed worker's delivery comes back.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    cart_id TEXT,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'dead', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    locked_by TEXT,
    last_status_code INTEGER,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (tenant_id, endpoint_id, created_at);

-- How an order found its cart (session, cart_token, email) and where it came from.
ALTER TABLE orders ADD COLUMN matched_by TEXT;
ALTER TABLE orders ADD COLUMN source TEXT NOT NULL DEFAULT 'track';
ALTER TABLE orders ADD COLUMN customer_email TEXT;
CREATE INDEX orders_tenant_cart_idx ON orders (tenant_id, cart_id);

-- A tenant's Stripe account: the secret key for payment links and the webhook
-- endpoint secrets for intake (JSON array), both sealed.
CREATE TABLE stripe_accounts (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    secret_key TEXT,
    webhook_secrets TEXT,
    masked TEXT NOT NULL,
    success_url TEXT,
    cancel_url TEXT,
    links_in_emails INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
