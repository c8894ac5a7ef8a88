DROP INDEX carts_quarantined_idx;
ALTER TABLE carts DROP COLUMN quarantined_at;
