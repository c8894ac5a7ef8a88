-- An operator's switch per shop: only an active tenant is served (docs/operating.md).
ALTER TABLE tenants ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'suspended', 'closed'));
