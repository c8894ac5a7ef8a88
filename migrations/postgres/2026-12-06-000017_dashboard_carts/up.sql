-- A cart's page lists the webhook deliveries about it: found through this
-- index rather than by reading every delivery of the tenant.
CREATE INDEX webhook_deliveries_cart_idx ON webhook_deliveries (tenant_id, cart_id, created_at);
