-- Upgrade 0004: the churns found by an index. The backtest and the customers' outcomes look up each customer's first
-- churn; without this partial index that was a scan of every event (3.5 s at 45 million events). Applied once by the
-- server at start (healthdash.db.database.upgrade_schema), in one transaction; safe to run again. db/init.sql holds
-- the same index for a new database.

CREATE INDEX IF NOT EXISTS events_churned_idx ON events (customer_id, occurred_at) WHERE type = 'churned';
