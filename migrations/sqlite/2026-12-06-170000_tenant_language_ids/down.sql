ALTER TABLE tenants DROP COLUMN language_ids;
