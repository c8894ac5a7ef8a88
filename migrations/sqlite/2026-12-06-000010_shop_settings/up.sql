-- The shop settings the API and the dashboard change (GET/PUT /api/v1/settings/shop),
-- and when each API key was last used. The time zone stays in the recovery
-- policy and the default language in the email settings: one place each.

-- Where replies to recovery emails go (NULL: to the sender).
ALTER TABLE tenants ADD COLUMN reply_to TEXT;
-- The currency of a tracked cart that names none (ISO 4217).
ALTER TABLE tenants ADD COLUMN default_currency TEXT NOT NULL DEFAULT 'USD';

-- Written at most once a minute per key, when the api looks the key up.
ALTER TABLE api_keys ADD COLUMN last_used_at TIMESTAMP;
-- A publishable key in full: it is public by design (every storefront page
-- carries it), and the dashboard fills it into the tracker snippet. Secret keys
-- stay hashed only; keys made before this column show their prefix.
ALTER TABLE api_keys ADD COLUMN public_key TEXT;
