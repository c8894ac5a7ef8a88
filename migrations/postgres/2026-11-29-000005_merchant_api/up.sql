-- The merchant API, browser capture and analytics.

-- The shop's own id for a cart (PUT /api/v1/carts upserts by it).
ALTER TABLE carts ADD COLUMN external_id TEXT;
-- Typed custom attributes: JSON {"name": {"type": "string|integer|date|datetime|boolean", "value": …}}.
ALTER TABLE carts ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
-- When the cart's personal data was erased for good (GDPR); totals stay for statistics.
ALTER TABLE carts ADD COLUMN erased_at TIMESTAMP;
CREATE UNIQUE INDEX carts_tenant_external_idx ON carts (tenant_id, external_id)
    WHERE external_id IS NOT NULL;
-- Listing and filtering a tenant's carts in a stable order.
CREATE INDEX carts_tenant_created_idx ON carts (tenant_id, created_at, id);
CREATE INDEX carts_tenant_updated_idx ON carts (tenant_id, updated_at, id);
-- Analytics count history events of one kind over a period.
CREATE INDEX cart_events_tenant_kind_idx ON cart_events (tenant_id, kind, created_at);
CREATE INDEX recovery_sends_tenant_sent_idx ON recovery_sends (tenant_id, sent_at);

-- Origins whose pages may capture carts with the publishable key (CORS), JSON array.
ALTER TABLE tenants ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';
