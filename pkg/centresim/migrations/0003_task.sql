-- Renewal requests (issue 23; README, "Task"): a Task asking the prescriber
-- to renew a prescription. Its identifiers live in the identifier table
-- with the others, so a conditional create on the record's UUID stores at
-- most one Task.
CREATE TABLE task (
	id             TEXT PRIMARY KEY,
	patient_id     TEXT NOT NULL REFERENCES patient(id),
	request_id     TEXT NOT NULL REFERENCES medication_request(id),
	status         TEXT NOT NULL,           -- requested while open
	authored_on    TEXT NOT NULL,           -- RFC 3339, as sent
	requester_name TEXT NOT NULL DEFAULT '',
	requester_oid  TEXT NOT NULL DEFAULT '',
	note           TEXT NOT NULL DEFAULT '',
	version        INTEGER NOT NULL,
	last_updated   TEXT NOT NULL
);
CREATE INDEX task_request ON task(request_id, status);
