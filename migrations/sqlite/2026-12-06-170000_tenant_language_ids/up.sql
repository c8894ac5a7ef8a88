-- The shop's own language ids (a JSON array of {"id", "locale"}): the ids
-- Reloadify-shaped clients put in their paths, when they are not locale codes.
ALTER TABLE tenants ADD COLUMN language_ids TEXT NOT NULL DEFAULT '[]';
