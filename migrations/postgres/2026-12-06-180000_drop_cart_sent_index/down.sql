CREATE INDEX recovery_sends_cart_sent_idx ON recovery_sends (tenant_id, cart_id, sent_at)
    WHERE status = 'sent';
