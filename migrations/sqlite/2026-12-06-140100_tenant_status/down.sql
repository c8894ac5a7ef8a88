ALTER TABLE tenants DROP COLUMN status;
