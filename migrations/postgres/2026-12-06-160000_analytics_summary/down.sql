DROP INDEX recovery_sends_first_click_idx;
DROP TABLE analytics_marks;
DROP INDEX analytics_days_sealed_idx;
DROP TABLE analytics_days;
