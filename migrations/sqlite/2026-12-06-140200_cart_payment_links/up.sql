-- The latest Stripe payment link made for a cart, so the cart can show it
-- (Quick Checkout Tracker's `paymentLink`). One per cart; a new link replaces it.
CREATE TABLE cart_payment_links (
    tenant_id TEXT NOT NULL,
    cart_id TEXT NOT NULL,
    url TEXT NOT NULL,
    checkout_session_id TEXT NOT NULL,
    expires_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, cart_id)
);
