-- Which abandoned carts an endpoint hears of: 'all' (cartback's meaning) or
-- 'unemailable' (Retake's: only carts cartback cannot email itself).
ALTER TABLE webhook_endpoints ADD COLUMN abandoned_event TEXT NOT NULL DEFAULT 'all';
