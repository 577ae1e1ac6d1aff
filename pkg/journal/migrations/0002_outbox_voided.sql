-- The outbox state 'voided': a record voided before it was uploaded is never
-- sent; like done, it is final.
--
-- SQLite cannot change a CHECK constraint, so the outbox is rebuilt by the
-- procedure of https://www.sqlite.org/lang_altertable.html ("Making Other
-- Kinds Of Table Schema Changes"): tiski applies migrations with foreign keys
-- off and runs PRAGMA foreign_key_check before it commits. The new table is
-- made under another name and renamed, so nothing that refers to "outbox" is
-- rewritten. Dropping the old table drops its indexes and triggers; the
-- triggers are made again only after the rows are copied, so the copy leaves
-- outbox_counts as it was.
CREATE TABLE outbox_new (
	record_seq    INTEGER PRIMARY KEY REFERENCES records (seq),
	record_id     TEXT NOT NULL UNIQUE REFERENCES records (id),
	kind          TEXT NOT NULL,
	state         TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'done', 'retry', 'conflict', 'rejected', 'parked', 'voided')),
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

INSERT INTO outbox_new (record_seq, record_id, kind, state, attempts, next_attempt, lease_owner, lease_expires,
		last_attempt, last_error, upstream_id, depends_on, conflict, created_at, updated_at)
	SELECT record_seq, record_id, kind, state, attempts, next_attempt, lease_owner, lease_expires,
		last_attempt, last_error, upstream_id, depends_on, conflict, created_at, updated_at
	FROM outbox ORDER BY record_seq;

DROP TABLE outbox;

ALTER TABLE outbox_new RENAME TO outbox;

CREATE INDEX outbox_unsent ON outbox (record_seq) WHERE state IN ('pending', 'retry', 'sending');
CREATE INDEX outbox_state ON outbox (state, record_seq);
CREATE INDEX outbox_depends_on ON outbox (depends_on) WHERE depends_on IS NOT NULL;

INSERT INTO outbox_counts (state, n) VALUES ('voided', 0);

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
