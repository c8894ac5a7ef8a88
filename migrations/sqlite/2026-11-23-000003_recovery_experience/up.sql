-- The recovery experience: per-send links (stored hashed), coupons, clicks, the
-- tenant's look and words, cart locale and consent, suppressions, cart history.

-- Each tenant's secret for deriving link tokens (never leaves the database).
ALTER TABLE tenants ADD COLUMN link_secret TEXT NOT NULL DEFAULT '';
UPDATE tenants SET link_secret = lower(hex(randomblob(32)));
-- Design, branding and copy (JSON).
ALTER TABLE tenants ADD COLUMN experience TEXT NOT NULL DEFAULT '{}';

ALTER TABLE carts ADD COLUMN locale TEXT;
-- NULL: not asked; 1: the shopper agreed; 0: the shopper refused.
ALTER TABLE carts ADD COLUMN consent INTEGER;
-- The latest recovery email of the cart's current cycle: spaces the steps out.
ALTER TABLE carts ADD COLUMN last_sent_at TIMESTAMP;
-- A shopper's carts by address (cooldown, unsubscribe), case-insensitively.
CREATE INDEX carts_tenant_email_idx ON carts (tenant_id, lower(customer_email));

ALTER TABLE recovery_sends ADD COLUMN coupon_code TEXT;
ALTER TABLE recovery_sends ADD COLUMN recovery_token_hash TEXT;
ALTER TABLE recovery_sends ADD COLUMN unsubscribe_token_hash TEXT;
ALTER TABLE recovery_sends ADD COLUMN click_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recovery_sends ADD COLUMN first_clicked_at TIMESTAMP;
ALTER TABLE recovery_sends ADD COLUMN last_clicked_at TIMESTAMP;
CREATE UNIQUE INDEX recovery_sends_recovery_token_idx ON recovery_sends (recovery_token_hash);
CREATE UNIQUE INDEX recovery_sends_unsubscribe_token_idx ON recovery_sends (unsubscribe_token_hash);

-- Addresses a tenant must not email, checked right before every send.
CREATE TABLE suppressions (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    reason TEXT NOT NULL CHECK (reason IN ('unsubscribed', 'bounced', 'complained', 'manual')),
    note TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, email)
);

-- What happened to a cart and why: decisions with their reason, clicks, unsubscribes.
CREATE TABLE cart_events (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    cart_id TEXT NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    step INTEGER,
    detail TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX cart_events_cart_idx ON cart_events (tenant_id, cart_id, created_at);

-- A tenant's own email templates (minijinja; html may be MJML), one per name and
-- locale, validated when saved.
CREATE TABLE custom_templates (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    locale TEXT NOT NULL,
    subject TEXT NOT NULL,
    html TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, name, locale)
);
