DROP INDEX carts_experiment_idx;
ALTER TABLE carts DROP COLUMN experiment_assigned_at;
ALTER TABLE carts DROP COLUMN policy_version;
ALTER TABLE carts DROP COLUMN held_out;
ALTER TABLE carts DROP COLUMN experiment_group;
ALTER TABLE carts DROP COLUMN experiment_id;
ALTER TABLE tenants DROP COLUMN assignment_key;
DROP TABLE experiments;
