ALTER TABLE tenants DROP COLUMN allowed_origins;
DROP INDEX recovery_sends_tenant_sent_idx;
DROP INDEX cart_events_tenant_kind_idx;
DROP INDEX carts_tenant_updated_idx;
DROP INDEX carts_tenant_created_idx;
DROP INDEX carts_tenant_external_idx;
ALTER TABLE carts DROP COLUMN erased_at;
ALTER TABLE carts DROP COLUMN attributes;
ALTER TABLE carts DROP COLUMN external_id;
