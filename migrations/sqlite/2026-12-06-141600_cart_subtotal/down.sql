ALTER TABLE carts DROP COLUMN subtotal_minor;
