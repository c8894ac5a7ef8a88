ALTER TABLE webhook_endpoints DROP COLUMN abandoned_event;
