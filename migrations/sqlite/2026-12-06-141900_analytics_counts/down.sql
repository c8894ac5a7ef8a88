DROP INDEX recovery_sends_cart_sent_idx;
DROP INDEX recovery_sends_sent_idx;
DROP INDEX orders_tenant_attribution_idx;
DROP INDEX cart_events_abandoned_idx;
ALTER TABLE cart_events DROP COLUMN cart_currency;
ALTER TABLE cart_events DROP COLUMN cart_total_minor;
