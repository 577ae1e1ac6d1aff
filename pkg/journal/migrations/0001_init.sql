-- The journal: immutable records chained by hash, the outbox that carries
-- them upstream, and the people who sign in at the counter.
--
-- Times are TEXT in one fixed-width UTC layout (2006-01-02T15:04:05.000000000Z),
-- so that text order is time order; '' stands for "no time".

CREATE TABLE schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at TEXT NOT NULL
) STRICT;

-- seq is AUTOINCREMENT so that a sequence number is never handed out twice,
-- even if the last record were removed behind our back; Verify compares
-- sqlite_sequence with the last record to notice that.
CREATE TABLE records (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	id         TEXT NOT NULL UNIQUE,
	kind       TEXT NOT NULL,
	time       TEXT NOT NULL,
	created_at TEXT NOT NULL,
	pharmacist TEXT NOT NULL,
	terminal   TEXT NOT NULL,
	mode       TEXT NOT NULL CHECK (mode IN ('ONLINE', 'FAULT', 'RECOVERING')),
	rules      TEXT NOT NULL,                    -- canonical JSON array of rule ids
	refers_to  TEXT REFERENCES records (id),     -- NULL unless a void or resolution
	patient    TEXT NOT NULL,                    -- HETU, '' when none
	body       TEXT NOT NULL,                    -- canonical JSON
	prev_hash  TEXT NOT NULL,
	hash       TEXT NOT NULL
) STRICT;

CREATE INDEX records_kind ON records (kind, seq);
CREATE INDEX records_time ON records (time);
CREATE INDEX records_patient ON records (patient, seq) WHERE patient <> '';
CREATE INDEX records_refers_to ON records (refers_to) WHERE refers_to IS NOT NULL;

CREATE TRIGGER records_no_update BEFORE UPDATE ON records
BEGIN
	SELECT RAISE(ABORT, 'journal records are immutable: record a void or a correction instead');
END;

CREATE TRIGGER records_no_delete BEFORE DELETE ON records
BEGIN
	SELECT RAISE(ABORT, 'journal records are immutable and are never deleted');
END;

-- The outbox is mutable state: one row per record to upload.
CREATE TABLE outbox (
	record_seq    INTEGER PRIMARY KEY REFERENCES records (seq),
	record_id     TEXT NOT NULL UNIQUE REFERENCES records (id),
	kind          TEXT NOT NULL,
	state         TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'done', 'retry', 'conflict', 'rejected', 'parked')),
	attempts      INTEGER NOT NULL DEFAULT 0,
	next_attempt  TEXT NOT NULL DEFAULT '',
	lease_owner   TEXT NOT NULL DEFAULT '',
	lease_expires TEXT NOT NULL DEFAULT '',
	last_attempt  TEXT NOT NULL DEFAULT '',
	last_error    TEXT NOT NULL DEFAULT '',
	upstream_id   TEXT NOT NULL DEFAULT '',
	depends_on    TEXT REFERENCES outbox (record_id),
	conflict      TEXT NOT NULL DEFAULT '',
	created_at    TEXT NOT NULL,
	updated_at    TEXT NOT NULL
) STRICT;

-- Only the entries still to send are indexed for leasing, so leasing stays
-- fast however many entries are done.
CREATE INDEX outbox_unsent ON outbox (record_seq) WHERE state IN ('pending', 'retry', 'sending');
CREATE INDEX outbox_state ON outbox (state, record_seq);
CREATE INDEX outbox_depends_on ON outbox (depends_on) WHERE depends_on IS NOT NULL;

-- Counts per state, kept by triggers, so the status line never counts rows.
CREATE TABLE outbox_counts (
	state TEXT PRIMARY KEY,
	n     INTEGER NOT NULL
) STRICT;

INSERT INTO outbox_counts (state, n) VALUES
	('pending', 0), ('sending', 0), ('done', 0), ('retry', 0), ('conflict', 0), ('rejected', 0), ('parked', 0);

CREATE TRIGGER outbox_count_insert AFTER INSERT ON outbox
BEGIN
	UPDATE outbox_counts SET n = n + 1 WHERE state = NEW.state;
END;

CREATE TRIGGER outbox_count_update AFTER UPDATE OF state ON outbox WHEN OLD.state <> NEW.state
BEGIN
	UPDATE outbox_counts SET n = n - 1 WHERE state = OLD.state;
	UPDATE outbox_counts SET n = n + 1 WHERE state = NEW.state;
END;

CREATE TRIGGER outbox_count_delete AFTER DELETE ON outbox
BEGIN
	UPDATE outbox_counts SET n = n - 1 WHERE state = OLD.state;
END;

-- The last upload outcome, for the status line (one row).
CREATE TABLE outbox_status (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	last_done     TEXT NOT NULL,
	last_attempt  TEXT NOT NULL,
	last_error    TEXT NOT NULL,
	last_error_at TEXT NOT NULL
) STRICT;

INSERT INTO outbox_status (id, last_done, last_attempt, last_error, last_error_at) VALUES (1, '', '', '', '');

CREATE TABLE users (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL,
	registration TEXT NOT NULL,
	role         TEXT NOT NULL,
	pin_hash     TEXT NOT NULL,
	disabled     INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	created_at   TEXT NOT NULL
) STRICT;
