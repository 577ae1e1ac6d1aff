-- One statement appends a record and, when asked, queues it for upload
-- (DESIGN §10: a durable append's p99 within 2× the fsync floor).
--
-- An append was BEGIN IMMEDIATE, a read of the chain's head, an INSERT into
-- records, another into outbox and COMMIT: five statements through
-- database/sql and the driver, about as much CPU time as the fsync itself
-- waits. An INSERT into this view is one statement, and in autocommit mode
-- its own transaction: the trigger writes the record and its outbox entry
-- together or not at all. The view has no rows of its own; upload and
-- depends_on exist only to tell the trigger what to queue.
CREATE VIEW record_appends AS
	SELECT seq, id, kind, time, created_at, pharmacist, terminal, mode, rules, refers_to, patient, body, prev_hash, hash,
		0 AS upload, NULL AS depends_on
	FROM records WHERE 0;

CREATE TRIGGER record_appends_insert INSTEAD OF INSERT ON record_appends
BEGIN
	INSERT INTO records (seq, id, kind, time, created_at, pharmacist, terminal, mode, rules, refers_to, patient, body, prev_hash, hash)
		VALUES (NEW.seq, NEW.id, NEW.kind, NEW.time, NEW.created_at, NEW.pharmacist, NEW.terminal, NEW.mode, NEW.rules,
			NEW.refers_to, NEW.patient, NEW.body, NEW.prev_hash, NEW.hash);
	INSERT INTO outbox (record_seq, record_id, kind, state, next_attempt, depends_on, created_at, updated_at)
		SELECT NEW.seq, NEW.id, NEW.kind, 'pending', NEW.created_at, NEW.depends_on, NEW.created_at, NEW.created_at
		WHERE NEW.upload;
END;
