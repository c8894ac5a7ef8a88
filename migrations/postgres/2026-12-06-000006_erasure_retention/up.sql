-- Erasure and retention.

-- The worker's retention pass finds each tenant's old history and old finished
-- deliveries by age; both tables are appended to in time order, so these
-- indexes cost little on writes.
CREATE INDEX cart_events_tenant_created_idx ON cart_events (tenant_id, created_at);
CREATE INDEX webhook_deliveries_tenant_created_idx ON webhook_deliveries (tenant_id, created_at);
-- Erasing a person finds their orders by address, case-insensitively.
CREATE INDEX orders_tenant_email_idx ON orders (tenant_id, lower(customer_email));
