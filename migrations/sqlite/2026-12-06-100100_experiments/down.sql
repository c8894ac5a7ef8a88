DROP INDEX carts_experiment_idx;
ALTER TABLE carts DROP COLUMN experiment;
ALTER TABLE carts DROP COLUMN experiment_id;
ALTER TABLE tenants DROP COLUMN assignment_key;
DROP TABLE experiments;
