ALTER TABLE api_keys DROP COLUMN public_key;
ALTER TABLE api_keys DROP COLUMN last_used_at;
ALTER TABLE tenants DROP COLUMN default_currency;
ALTER TABLE tenants DROP COLUMN reply_to;
