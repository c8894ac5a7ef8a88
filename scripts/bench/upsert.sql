-- pgbench: the single-row upsert cartback would do per request without group
-- commit (same columns, same conflict rule). The tenant id comes quoted with -D.
\set n random(1, 1000000)
INSERT INTO carts (id, tenant_id, session_id, status, items, item_count, total_minor, currency,
    customer_email, customer_name, cycle, next_step, created_at, updated_at, last_activity_at, next_action_at)
VALUES ('cart_pgb_' || :n || '_' || :client_id, :tenant, 'pgbench-' || :n || '-' || :client_id, 'active',
    '[{"id":"sku-1","name":"Linen shirt","unitPriceMinor":4990,"quantity":1}]', 1, 4990, 'EUR',
    'shopper@example.com', NULL, 0, 0, now(), now(), now(), now() + interval '1 hour')
ON CONFLICT (tenant_id, session_id) DO UPDATE SET
    status = 'active', items = excluded.items, item_count = excluded.item_count,
    total_minor = excluded.total_minor, currency = excluded.currency,
    customer_email = COALESCE(excluded.customer_email, carts.customer_email),
    updated_at = excluded.updated_at, last_activity_at = excluded.last_activity_at,
    next_action_at = CASE WHEN carts.locked_by IS NOT NULL THEN carts.next_action_at ELSE excluded.next_action_at END
RETURNING *;
