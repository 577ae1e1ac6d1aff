-- Kela's notices (issue 22): faults and planned maintenance breaks, as the
-- pharmacy's IT typed them in at any counter. Each notice and each end of
-- one is also a record (kinds notice and notice_end, never uploaded), so
-- the share lane carries it to the other counters; this table is what the
-- counters read, kept in the same transaction as the record, whether it
-- was made here or came from another counter.
CREATE TABLE notices (
	id         TEXT PRIMARY KEY, -- the notice record's id
	kind       TEXT NOT NULL CHECK (kind IN ('fault', 'maintenance')),
	starts     TEXT NOT NULL,
	ends       TEXT NOT NULL DEFAULT '', -- '': not known
	text       TEXT NOT NULL CHECK (text <> ''),
	ref        TEXT NOT NULL DEFAULT '',
	counter    TEXT NOT NULL,
	added_at   TEXT NOT NULL,
	added_by   TEXT NOT NULL,
	ended_at   TEXT NOT NULL DEFAULT '',
	ended_by   TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX notices_starts ON notices (starts);
