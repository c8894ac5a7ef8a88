-- Every email entered this index when it turned `sent`, and the PostgreSQL
-- worker sent about a fifth fewer emails per second with it (1,100 against
-- 1,400 emails/s in `cartback-bench worker`). The crediting queries it served
-- now run only over today and the summary's late corrections, and find a
-- cart's emails through the (cart_id, cycle, step) key instead.
DROP INDEX recovery_sends_cart_sent_idx;
