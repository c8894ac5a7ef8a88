-- Analytics are counted by the database, per piece of a local day (issue 17).
-- An abandonment's value is the cart's total when it went abandoned, kept on
-- the event: summing it needs no join to the (large) carts table, and a past
-- day's figure no longer moves when a cart changes later.
ALTER TABLE cart_events ADD COLUMN cart_total_minor BIGINT;
ALTER TABLE cart_events ADD COLUMN cart_currency TEXT;

-- Events recorded before: the cart's total now, as the reports read it so far.
UPDATE cart_events SET cart_total_minor = c.total_minor, cart_currency = c.currency
FROM carts c
WHERE c.id = cart_events.cart_id AND cart_events.kind = 'abandoned';

-- Each report query reads one of these and nothing else (index-only scans).
CREATE INDEX cart_events_abandoned_idx ON cart_events (tenant_id, created_at)
    INCLUDE (cart_currency, cart_total_minor) WHERE kind = 'abandoned';
CREATE INDEX orders_tenant_attribution_idx ON orders (tenant_id, attribution, created_at)
    INCLUDE (currency, total_minor, cart_id);
CREATE INDEX recovery_sends_sent_idx ON recovery_sends (tenant_id, sent_at)
    INCLUDE (step, click_count, cart_id, id) WHERE status = 'sent';
-- Whether a cart got another email between one and the order that recovered it.
CREATE INDEX recovery_sends_cart_sent_idx ON recovery_sends (tenant_id, cart_id, sent_at)
    WHERE status = 'sent';
