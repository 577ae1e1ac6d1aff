-- The adopted lane (issue 19): `tiski sync adopt COUNTER` makes this counter
-- upload another counter's records (a PC that died mid-outage). One row per
-- adopted peer record, with the same upload state as the outbox's, in the
-- order of adoption (lane_seq, which keeps each counter's chain order).
CREATE TABLE adopted (
	lane_seq      INTEGER PRIMARY KEY,
	record_id     TEXT NOT NULL UNIQUE REFERENCES peer_records (id),
	counter       TEXT NOT NULL,
	peer_seq      INTEGER NOT NULL,
	kind          TEXT NOT NULL,
	state         TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'done', 'retry', 'conflict', 'rejected', 'parked', 'voided')),
	attempts      INTEGER NOT NULL DEFAULT 0,
	next_attempt  TEXT NOT NULL DEFAULT '',
	lease_owner   TEXT NOT NULL DEFAULT '',
	lease_expires TEXT NOT NULL DEFAULT '',
	last_attempt  TEXT NOT NULL DEFAULT '',
	last_error    TEXT NOT NULL DEFAULT '',
	upstream_id   TEXT NOT NULL DEFAULT '',
	depends_on    TEXT,
	conflict      TEXT NOT NULL DEFAULT '',
	created_at    TEXT NOT NULL,
	updated_at    TEXT NOT NULL,
	adopted_at    TEXT NOT NULL,
	adopted_by    TEXT NOT NULL
) STRICT;
CREATE INDEX adopted_open ON adopted (lane_seq) WHERE state NOT IN ('done', 'voided');
CREATE INDEX adopted_depends_on ON adopted (depends_on) WHERE depends_on IS NOT NULL;
