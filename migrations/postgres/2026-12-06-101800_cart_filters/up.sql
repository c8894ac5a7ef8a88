-- "Which carts were abandoned today?": the carts list filters on the time a
-- cart was abandoned. Partial, so the many carts never abandoned (active ones,
-- whose updates reset the column to NULL) cost this index nothing.
CREATE INDEX carts_tenant_abandoned_idx ON carts (tenant_id, abandoned_at)
    WHERE abandoned_at IS NOT NULL;

-- Carts set to abandoned by hand before a PATCH stamped the time: the latest
-- `abandoned` event of their history, else the time of their last change.
UPDATE carts SET abandoned_at = (
    SELECT max(e.created_at) FROM cart_events e
    WHERE e.tenant_id = carts.tenant_id AND e.cart_id = carts.id AND e.kind = 'abandoned'
)
WHERE abandoned_at IS NULL AND status IN ('abandoned', 'recovered');
UPDATE carts SET abandoned_at = updated_at
WHERE abandoned_at IS NULL AND status = 'abandoned';
