-- A cart the worker could not process (its evaluation failed or panicked) is
-- quarantined: kept out of claims (next_action_at NULL) until the shop's next
-- update of the cart, with the reason in its history (kind 'quarantined').
ALTER TABLE carts ADD COLUMN quarantined_at TIMESTAMP;
-- /metrics counts them at every scrape; few rows, so a partial index.
CREATE INDEX carts_quarantined_idx ON carts (quarantined_at) WHERE quarantined_at IS NOT NULL;
