DROP TABLE stripe_accounts;
DROP INDEX orders_tenant_cart_idx;
ALTER TABLE orders DROP COLUMN customer_email;
ALTER TABLE orders DROP COLUMN source;
ALTER TABLE orders DROP COLUMN matched_by;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
