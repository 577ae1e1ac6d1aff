-- The pharmacy hub (issue 19): the share lane beside the upload outbox, and
-- the records of the pharmacy's other counters.
--
-- The share lane is the records after share_lane.through: every committed
-- record joins it in its own transaction, with no row and no page of its
-- own, as the outbox's intake does (0005). The sharer publishes them to
-- the hub in sequence order and moves through on. Records made before
-- this migration are shared too, once a hub is configured: the other
-- counters then see this counter's earlier outage records as well.
CREATE TABLE share_lane (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	through INTEGER NOT NULL
) STRICT;

INSERT INTO share_lane (id, through) VALUES (1, 0);

-- Records of the other counters, as each made them, read-only: the hash
-- was recomputed before a row was kept. counter is the counter that made
-- it (its terminal), seq its place in that counter's chain. upload and
-- depends_on came beside the record (they are not in its hash): what
-- `tiski sync adopt` needs to upload another counter's records.
CREATE TABLE peer_records (
	counter     TEXT NOT NULL,
	seq         INTEGER NOT NULL,
	id          TEXT NOT NULL UNIQUE,
	kind        TEXT NOT NULL,
	time        TEXT NOT NULL,
	created_at  TEXT NOT NULL,
	pharmacist  TEXT NOT NULL,
	terminal    TEXT NOT NULL,
	mode        TEXT NOT NULL,
	rules       TEXT NOT NULL,
	refers_to   TEXT,
	patient     TEXT NOT NULL,
	body        TEXT NOT NULL,
	prev_hash   TEXT NOT NULL,
	hash        TEXT NOT NULL,
	upload      INTEGER NOT NULL DEFAULT 0,
	depends_on  TEXT,
	received_at TEXT NOT NULL,
	PRIMARY KEY (counter, seq)
) STRICT;

CREATE INDEX peer_records_patient ON peer_records (patient, time) WHERE patient <> '';
CREATE INDEX peer_records_refers_to ON peer_records (refers_to) WHERE refers_to IS NOT NULL;
CREATE INDEX peer_records_kind ON peer_records (kind, time);
CREATE INDEX peer_records_time ON peer_records (time);

CREATE TRIGGER peer_records_no_update BEFORE UPDATE ON peer_records
BEGIN
	SELECT RAISE(ABORT, 'peer records are read-only: they are another counter''s journal');
END;

CREATE TRIGGER peer_records_no_delete BEFORE DELETE ON peer_records
BEGIN
	SELECT RAISE(ABORT, 'peer records are read-only: they are another counter''s journal');
END;
