-- Upgrade 0007: an event's customer checked a statement at a time instead of by a foreign key row by row (a quarter
-- of the time of a batch of 10,000 events). Applied once by the server at start (healthdash.db.database.upgrade_schema),
-- in one transaction; safe to run again. db/init.sql holds the same functions and triggers for a new database.

ALTER TABLE events DROP CONSTRAINT IF EXISTS events_customer_id_fkey;

-- Every event belongs to a customer, as a foreign key with ON DELETE CASCADE would have it, but checked a statement
-- at a time: a foreign key looks up and locks the customer of each row apart (for a batch of 10,000 events a quarter
-- of its time), these triggers lock a statement's customers with one query (FOR KEY SHARE, as the foreign key does, so
-- that none is deleted before the events commit), and refuse the statement if any is missing, with the foreign key's
-- error (SQLSTATE 23503, constraint events_customer_id_fkey). A customer's deletion deletes its events; TRUNCATE
-- customers empties events; a customer's id does not change while events name it.
CREATE OR REPLACE FUNCTION events_check_customers() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    locked bigint;
    missing bigint;
BEGIN
    SELECT count(*) INTO locked
      FROM (SELECT 1 FROM customers c WHERE c.id IN (SELECT customer_id FROM new_events)
             ORDER BY c.id  -- one lock order for concurrent statements
               FOR KEY SHARE) l;
    IF locked < (SELECT count(DISTINCT customer_id) FROM new_events) THEN
        SELECT min(e.customer_id) INTO missing
          FROM new_events e WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = e.customer_id);
        RAISE EXCEPTION 'insert or update on table "events" violates foreign key constraint "events_customer_id_fkey"'
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'events_customer_id_fkey', TABLE = 'events',
                  DETAIL = format('Key (customer_id)=(%s) is not present in table "customers".', missing);
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER events_customer_check AFTER INSERT ON events  -- named to run first of the statement's triggers
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_check_customers();
CREATE OR REPLACE TRIGGER events_customer_check_update AFTER UPDATE ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_check_customers();

CREATE OR REPLACE FUNCTION customers_delete_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM events WHERE customer_id IN (SELECT id FROM old_customers);
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER customers_delete_events AFTER DELETE ON customers
    REFERENCING OLD TABLE AS old_customers
    FOR EACH STATEMENT EXECUTE FUNCTION customers_delete_events();

CREATE OR REPLACE FUNCTION customers_truncate_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM events) THEN  -- empty already when truncated by the same statement
        TRUNCATE events;
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER customers_truncate_events AFTER TRUNCATE ON customers
    FOR EACH STATEMENT EXECUTE FUNCTION customers_truncate_events();

CREATE OR REPLACE FUNCTION customers_keep_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM events WHERE customer_id = OLD.id) THEN
        RAISE EXCEPTION 'update on table "customers" violates foreign key constraint "events_customer_id_fkey" on table "events"'
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'events_customer_id_fkey', TABLE = 'customers',
                  DETAIL = format('Key (id)=(%s) is still referenced from table "events".', OLD.id);
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER customers_keep_id BEFORE UPDATE OF id ON customers
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION customers_keep_id();
