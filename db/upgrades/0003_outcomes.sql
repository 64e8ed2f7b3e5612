-- Upgrade 0003: outcomes. Customers gain their CRM id, ARR, renewal date and status, and a trigger that tells every
-- instance of customers added or changed; events may be outcomes (churned, renewed, arr_changed), a churn with a reason
-- of the vocabulary. Applied once by the server at start (healthdash.db.database.upgrade_schema), in one
-- transaction; safe to run again. db/init.sql holds the same objects for a new database.

ALTER TABLE customers
    ADD COLUMN IF NOT EXISTS external_id  text UNIQUE CHECK (length(external_id) BETWEEN 1 AND 200
                                                              AND external_id ~ '^[!-~]+$'),
    ADD COLUMN IF NOT EXISTS arr          numeric(12,2) NOT NULL DEFAULT 0 CHECK (arr >= 0),
    ADD COLUMN IF NOT EXISTS renewal_date date,
    ADD COLUMN IF NOT EXISTS status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'churned'));

ALTER TABLE events DROP CONSTRAINT IF EXISTS events_type_check;
ALTER TABLE events ADD CONSTRAINT events_type_check CHECK (type IN ('login', 'feature_use', 'api_call',
    'ticket_opened', 'ticket_closed', 'invoice_issued', 'invoice_paid', 'churned', 'renewed', 'arr_changed'));
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_churn_reason_check;
ALTER TABLE events ADD CONSTRAINT events_churn_reason_check CHECK (type <> 'churned' OR data ->> 'reason' IN (
    'budget', 'product_fit', 'competitor', 'support', 'consolidation', 'business_closed', 'other'));

DROP TRIGGER IF EXISTS customers_notify_insert ON customers;
DROP TRIGGER IF EXISTS customers_notify_update ON customers;
CREATE OR REPLACE FUNCTION customers_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parts text[];
    part text;
BEGIN
    SELECT array_agg(ids ORDER BY chunk) INTO parts
      FROM (SELECT chunk, string_agg(id::text, ',' ORDER BY id) AS ids
              FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / 350 AS chunk FROM changed_customers) n
             GROUP BY chunk) c;
    IF cardinality(parts) > 64 THEN
        PERFORM pg_notify('healthdash_events', '*');
    ELSIF parts IS NOT NULL THEN
        FOREACH part IN ARRAY parts LOOP
            PERFORM pg_notify('healthdash_events', (now() AT TIME ZONE 'UTC')::date::text || ':' || part);
        END LOOP;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER customers_notify_insert AFTER INSERT ON customers
    REFERENCING NEW TABLE AS changed_customers
    FOR EACH STATEMENT EXECUTE FUNCTION customers_notify();
CREATE TRIGGER customers_notify_update AFTER UPDATE ON customers
    REFERENCING NEW TABLE AS changed_customers
    FOR EACH STATEMENT EXECUTE FUNCTION customers_notify();
