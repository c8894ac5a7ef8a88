-- What a shop keeps about a cart through the Reloadify-shaped API: its own
-- id of the shopper's profile, and its own recovery link and token for the
-- cart. A table beside carts: few carts have them.
CREATE TABLE cart_shop_fields (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    cart_id TEXT NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    profile_id TEXT,
    recovery_url TEXT,
    recovery_token TEXT,
    PRIMARY KEY (tenant_id, cart_id)
);
