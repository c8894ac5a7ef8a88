-- Optimistic concurrency for the merchant API: every write that changes what
-- GET /api/v1/carts/{id} shows adds one (the ETag). The worker's lease (claim)
-- does not count.
ALTER TABLE carts ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
