-- The subtotal a storefront sends beside its total (litecommerce's
-- subtotalInCents), kept as given, in minor units.
ALTER TABLE carts ADD COLUMN subtotal_minor BIGINT;
