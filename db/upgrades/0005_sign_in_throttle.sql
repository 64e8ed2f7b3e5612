-- Upgrade 0005: failed sign-ins are throttled from the audit log, which every instance writes, so that guesses spread
-- over several instances count together. Per account they are found by the actor index; per address by this one.
-- Applied once by the server at start (healthdash.db.database.upgrade_schema); safe to run again. db/init.sql holds
-- the same index for a new database.

CREATE INDEX IF NOT EXISTS audit_log_failed_sign_in_idx ON audit_log (address, at DESC) WHERE action = 'sign_in.failed';
