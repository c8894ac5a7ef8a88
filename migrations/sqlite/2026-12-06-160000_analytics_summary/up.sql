-- The dashboard's overview and GET /api/v1/analytics without counting every
-- fact of the period at each request (cartback_store::analytics::summary):
-- the local days of a tenant's time zone that ended a while ago are counted
-- once into `analytics_days`, and a report reads those rows plus today's facts.
--
-- A row counts the facts of one local day (`day_start`, its first instant in
-- UTC) of one kind: abandonments and orders per currency (`label`, '' for an
-- abandonment whose value was never known), emails sent, clicked and credited
-- with a recovery per step (`label` is the step index). `sealed_start` is the
-- local day of the event that made the count final: the day itself for
-- abandonments, orders and sends, the day of the first click or of the
-- recovering order for clicks and credits (they come days after the email).
-- Amounts are summed in two parts, millions and the rest, as the live queries
-- do, so no sum can overflow.
CREATE TABLE analytics_days (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day_start TIMESTAMP NOT NULL,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    sealed_start TIMESTAMP NOT NULL,
    events BIGINT NOT NULL,
    valued BIGINT NOT NULL,
    millions BIGINT NOT NULL,
    rest BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, day_start, kind, label, sealed_start)
) WITHOUT ROWID;

-- A late write sets the summary back to the day it belongs to: the rows its
-- day or a later one made final go.
CREATE INDEX analytics_days_sealed_idx ON analytics_days (tenant_id, sealed_start);

-- What `analytics_days` holds for a tenant: the local days of `zone` from
-- `from_start` (included) to `until_start` (excluded), each counted with the
-- events before `until_start`. `tzdb` is the time-zone database the days were
-- cut with; another one (an upgrade) starts the summary over.
CREATE TABLE analytics_marks (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    zone TEXT NOT NULL,
    tzdb TEXT NOT NULL,
    from_start TIMESTAMP NOT NULL,
    until_start TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- First clicks since the summary's end, for emails of summarised days.
CREATE INDEX recovery_sends_first_click_idx ON recovery_sends (tenant_id, first_clicked_at, sent_at, step, click_count)
    WHERE status = 'sent' AND first_clicked_at IS NOT NULL;
