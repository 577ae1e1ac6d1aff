-- An append writes the record alone; the outbox takes it in afterwards
-- (DESIGN §10: a durable append's p99 within 2× the fsync floor).
--
-- Each page a commit changes is a WAL frame, written and fsynced before the
-- pharmacist sees "recorded". Appending a dispensing for upload changed
-- eight: the record, its id and patient indexes, sqlite_sequence, the
-- outbox entry, its record_id and open indexes, and the counts. The outbox
-- entry's four were half of every append.
--
-- Now the record itself says whether it is to be uploaded, and what it
-- waits for (upload, depends_on: written once, immutable as the rest of the
-- record). Every write transaction on the outbox (a lease, an outcome, a
-- resolution) first takes in the records after outbox_intake.through into
-- the outbox, as pending entries, in sequence order. Readers count and
-- list those not yet taken in as pending. A record is as safe either way:
-- it is on disk, marked for upload, in the same commit.
ALTER TABLE records ADD COLUMN upload INTEGER NOT NULL DEFAULT 0; -- 1: to be uploaded (no CHECK: SQLite would test it on every record before)
ALTER TABLE records ADD COLUMN depends_on TEXT;

-- The last record the outbox has taken in (one row). Records before this
-- migration have their outbox entries already.
CREATE TABLE outbox_intake (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	through INTEGER NOT NULL
) STRICT;

INSERT INTO outbox_intake (id, through) VALUES (1, (SELECT coalesce(max(seq), 0) FROM records));

-- An append is now one INSERT into records: the view of migration 0004 and
-- its trigger, which wrote the outbox entry in the same statement, go.
DROP VIEW record_appends;
