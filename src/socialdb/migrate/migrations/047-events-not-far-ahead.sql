-- An event is something that happened: none may be dated more than one day after now
-- (issue 22, gap 4; decision 160). Found by an adversarial review: one event of one seller,
-- dated 2199-12 (028's CHECK allows up to 2200), landed in analytics_events_default, and
-- every `socialdb maintain` then exited 1 until someone deleted it; following its advice
-- (`--months` reaching the month) meant some 2,080 partitions.
-- The boundary is a BEFORE INSERT OR UPDATE OF occurred_at row trigger on the partitioned
-- table, not a CHECK: PostgreSQL documents that a CHECK's condition is assumed immutable,
-- and a partition must carry its parent's CHECKs (ATTACH requires them), so a CHECK on
-- now() would be checked again when maintain moves the default partition's events of a
-- month into its new table (failing maintain for any such event stored before this
-- migration), and again on every update of any column of such a row. A row trigger on a
-- partitioned table is cloned onto every partition, and onto every partition created or
-- attached later (CREATE TRIGGER, PostgreSQL 13 and later: tested on 15 and 18); maintain
-- moves events into a table not yet attached, so the move fires nothing. The application
-- role cannot bypass it: it owns no table (ALTER TABLE ... DISABLE TRIGGER needs the
-- owner), may not set session_replication_role (a superuser's), and reaches no partition
-- by name (034).
-- The margin, one day after now() (the transaction's start): clocks kept by NTP differ by
-- milliseconds and a host without it drifts seconds a day; the largest ordinary mistake,
-- a local time sent as UTC, is at most 14 hours ahead (UTC+14). A larger margin admits
-- nothing that happened, and one day stays within the months `socialdb maintain` keeps
-- ahead (3 by default), so an accepted event always has its month's partition.
-- An update that leaves occurred_at as it was passes (rows stored before this migration
-- stay updatable); moving an event to a time beyond the margin is refused. The trigger's
-- WHEN tests the time, so the function runs for refused rows only; from 2200 on (and
-- 'infinity') it leaves the refusal to 028's CHECK, which then names its own constraint.
-- Supersedes: nothing (028's 2000-2200 CHECK stays: it bounds the past and the owner's
-- writes); the default partition keeps taking months without a partition.
-- Locks: SHARE ROW EXCLUSIVE on analytics_events and on each of its partitions, what CREATE
-- TRIGGER takes on them (it clones the trigger onto each), taken first by one LOCK TABLE,
-- parent first, as every other statement on the events does; event writers wait for the
-- catalog change, readers do not. The rest is catalog only. The rollback's DROP TRIGGER takes
-- ACCESS EXCLUSIVE on the same tables (readers wait too), likewise taken first. Both run
-- their trigger statement through EXECUTE: socialdb's lock planner would plan a plain
-- CREATE or DROP TRIGGER as locking the parent alone (it knows neither that a row trigger
-- reaches every partition nor, offline, the partitions 034's DO block made), understating
-- it; through EXECUTE it plans the block as unknown, assumed ACCESS EXCLUSIVE: more than it
-- takes, never less (tests/test_lock_plan.py lists it with 032's and 034's).

CREATE FUNCTION refuse_event_far_ahead()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.occurred_at = OLD.occurred_at THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'analytics_events: occurred_at % is more than 1 day after now (%): an event records something that happened; correct its time',
      to_char(NEW.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"+00"'),
      to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"+00"')
    USING ERRCODE = 'check_violation', TABLE = 'analytics_events', COLUMN = 'occurred_at',
          CONSTRAINT = 'analytics_events_not_far_ahead';
END;
$$;
ALTER FUNCTION refuse_event_far_ahead() OWNER TO socialdb_owner;
-- A trigger needs no EXECUTE to fire; whoever runs this, nobody may call it (027's default).
REVOKE EXECUTE ON FUNCTION refuse_event_far_ahead() FROM PUBLIC;
COMMENT ON FUNCTION refuse_event_far_ahead() IS 'Trigger of analytics_events (migration 047): refuses an event dated more than 1 day after now (SQLSTATE 23514), unless an update leaves its time as it was.';

DO $$
BEGIN
  LOCK TABLE public.analytics_events IN SHARE ROW EXCLUSIVE MODE;
  EXECUTE 'CREATE TRIGGER analytics_events_not_far_ahead'
    ' BEFORE INSERT OR UPDATE OF occurred_at ON public.analytics_events'
    ' FOR EACH ROW'
    ' WHEN (NEW.occurred_at > now() + interval ''1 day'' AND NEW.occurred_at < ''2200-01-01 00:00:00+00'')'
    ' EXECUTE FUNCTION public.refuse_event_far_ahead()';
END
$$;

COMMENT ON COLUMN analytics_events.occurred_at IS 'When the event happened; from 2000-01-01 to before 2200-01-01 UTC (migrations 028, 029), and at most 1 day after now when written (047). The partition key: one partition a month (UTC).';

-- ROLLBACK
COMMENT ON COLUMN analytics_events.occurred_at IS 'When the event happened; from 2000-01-01 to before 2200-01-01 UTC (migrations 028, 029). The partition key: one partition a month (UTC).';
DO $$
BEGIN
  LOCK TABLE public.analytics_events IN ACCESS EXCLUSIVE MODE;
  EXECUTE 'DROP TRIGGER analytics_events_not_far_ahead ON public.analytics_events';
END
$$;
DROP FUNCTION refuse_event_far_ahead();
