-- Holdouts and A/B tests on the recovery flow (docs/experiments.md).

-- One experiment of one tenant: its groups (JSON: name, share in basis points,
-- holdout flag, the group's variant of the flow), and where it stands.
CREATE TABLE experiments (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    groups TEXT NOT NULL,
    winner TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    stopped_at TIMESTAMP
);
CREATE INDEX experiments_tenant_idx ON experiments (tenant_id, created_at);
-- At most one running experiment per tenant: a cart is assigned to one.
CREATE UNIQUE INDEX experiments_one_running_idx ON experiments (tenant_id) WHERE status = 'running';

-- The tenant's key for assigning shoppers to groups (HMAC-SHA256); made with
-- the first experiment and never changed (a new key would reshuffle shoppers).
ALTER TABLE tenants ADD COLUMN assignment_key TEXT;

-- A cart's group, recorded when it is assigned (at abandonment): the
-- experiment (indexed, for the experiment's figures) and, as JSON, the group,
-- whether it is held out, the version of the recovery policy it was assigned
-- under and when (orders within the attribution window after that moment count
-- as the group's recoveries).
ALTER TABLE carts ADD COLUMN experiment_id TEXT;
ALTER TABLE carts ADD COLUMN experiment TEXT;
CREATE INDEX carts_experiment_idx ON carts (tenant_id, experiment_id) WHERE experiment_id IS NOT NULL;
