-- Upgrade 0006: the score history partitioned by month, for a database loaded by a db/init.sql from before it. Applied
-- once by the server at start (healthdash.db.database.upgrade_schema), in one transaction; safe to run again.
-- db/init.sql holds the same objects for a new database.
--
-- The rows move into the month partitions (the months of the days written, and the one after the last, as the
-- server adds them), once: 5 minutes for 100,000 customers' 180 days (18 million rows) on 2 busy cores. The server
-- answers after its upgrades are applied.

CREATE OR REPLACE FUNCTION score_history_add_months(first date, last date) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    month date := date_trunc('month', first)::date;
    name text;
    added integer := 0;
BEGIN
    WHILE month <= last LOOP
        name := 'score_history_' || to_char(month, 'YYYY_MM');
        IF to_regclass(name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I (LIKE score_history INCLUDING CONSTRAINTS)', name);
            EXECUTE format('ALTER TABLE score_history ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                           name, month, (month + interval '1 month')::date);
            added := added + 1;
        END IF;
        month := (month + interval '1 month')::date;
    END LOOP;
    RETURN added;
END;
$$;

DO $$
DECLARE
    first date;
    last date;
    constraint_name name;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'score_history'::regclass) = 'p' THEN
        RETURN;  -- partitioned already
    END IF;
    -- the old table's constraints and indexes give up their names, which the new table's take
    ALTER TABLE score_history RENAME TO score_history_unpartitioned;
    FOR constraint_name IN SELECT conname FROM pg_constraint WHERE conrelid = 'score_history_unpartitioned'::regclass
    LOOP
        EXECUTE format('ALTER TABLE score_history_unpartitioned RENAME CONSTRAINT %I TO %I',
                       constraint_name, 'old_' || constraint_name);
    END LOOP;
    ALTER INDEX score_history_day_idx RENAME TO old_score_history_day_idx;
    CREATE TABLE score_history (
        customer_id        bigint   NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
        day                date     NOT NULL,
        score              real     CHECK (score BETWEEN 0 AND 100),
        coverage           real     NOT NULL CHECK (coverage BETWEEN 0 AND 1),
        login_frequency    real,
        feature_adoption   real,
        ticket_volume      real,
        invoice_timeliness real,
        api_usage          real,
        config_id          smallint NOT NULL REFERENCES scoring_configs (id),
        tier               text     NOT NULL CHECK (tier IN ('healthy', 'at_risk', 'critical', 'insufficient_data')),
        PRIMARY KEY (customer_id, day)
    ) PARTITION BY RANGE (day);
    CREATE INDEX score_history_day_idx ON score_history USING brin (day);
    SELECT min(day), max(day) INTO first, last FROM score_history_unpartitioned;
    IF first IS NOT NULL THEN
        PERFORM score_history_add_months(first, (last + interval '1 month')::date);
        INSERT INTO score_history SELECT * FROM score_history_unpartitioned ORDER BY day, customer_id;
    END IF;
    DROP TABLE score_history_unpartitioned;
END;
$$;
