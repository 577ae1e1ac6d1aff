-- The Prescription Centre's resources. Every resource has a version counter
-- (meta.versionId, ETag) and a lastUpdated instant. Identifiers of every
-- resource type live in one table with a unique index, so that a
-- conditional create can never store two resources for one identifier.

CREATE TABLE setting (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE counter (
	name TEXT PRIMARY KEY,
	n    INTEGER NOT NULL
);

CREATE TABLE patient (
	id           TEXT PRIMARY KEY,
	hetu         TEXT NOT NULL UNIQUE,
	family       TEXT NOT NULL,
	given        TEXT NOT NULL,
	gender       TEXT NOT NULL,
	birth_date   TEXT NOT NULL,
	version      INTEGER NOT NULL,
	last_updated TEXT NOT NULL
);

CREATE TABLE medication (
	id           TEXT PRIMARY KEY,           -- med-<VNR>
	vnr          TEXT NOT NULL UNIQUE,
	name         TEXT NOT NULL,
	substance    TEXT NOT NULL,
	atc          TEXT NOT NULL,
	strength     TEXT NOT NULL,
	form         TEXT NOT NULL,
	unit         TEXT NOT NULL,
	class        TEXT NOT NULL DEFAULT '',   -- narcotic, pkv or ''
	pack_size    INTEGER NOT NULL,
	version      INTEGER NOT NULL,
	last_updated TEXT NOT NULL
);

CREATE TABLE medication_request (
	id                TEXT PRIMARY KEY,
	patient_id        TEXT NOT NULL REFERENCES patient(id),
	medication_id     TEXT NOT NULL REFERENCES medication(id),
	status            TEXT NOT NULL CHECK (status IN ('active', 'completed', 'cancelled')),
	form              TEXT NOT NULL CHECK (form IN ('electronic', 'paper', 'telephone')),
	reported          INTEGER NOT NULL DEFAULT 0,
	authored_on       TEXT NOT NULL,           -- YYYY-MM-DD
	valid_end         TEXT NOT NULL,           -- YYYY-MM-DD, before the grace month
	quantity          INTEGER NOT NULL CHECK (quantity > 0),
	unit              TEXT NOT NULL,
	repeats           INTEGER NOT NULL CHECK (repeats >= 0),
	dispensed         INTEGER NOT NULL DEFAULT 0,
	locked_by         TEXT NOT NULL DEFAULT '',
	dosage            TEXT NOT NULL DEFAULT '',
	requester_name    TEXT NOT NULL DEFAULT '',
	requester_reg     TEXT NOT NULL DEFAULT '',
	recorder_name     TEXT NOT NULL DEFAULT '',
	recorder_reg      TEXT NOT NULL DEFAULT '',
	exception_reason  TEXT NOT NULL DEFAULT '',
	call_phone        TEXT NOT NULL DEFAULT '',
	call_time         TEXT NOT NULL DEFAULT '',
	call_verification TEXT NOT NULL DEFAULT '',
	version           INTEGER NOT NULL,
	last_updated      TEXT NOT NULL,
	CHECK (dispensed <= quantity * (1 + repeats))
);
CREATE INDEX medication_request_patient ON medication_request(patient_id);

CREATE TABLE medication_dispense (
	id               TEXT PRIMARY KEY,
	patient_id       TEXT NOT NULL REFERENCES patient(id),
	request_id       TEXT REFERENCES medication_request(id),
	medication_id    TEXT NOT NULL REFERENCES medication(id),
	status           TEXT NOT NULL,
	essential        INTEGER NOT NULL DEFAULT 0,
	basis            TEXT NOT NULL DEFAULT '',
	note             TEXT NOT NULL DEFAULT '',
	quantity         INTEGER NOT NULL CHECK (quantity > 0),
	unit             TEXT NOT NULL,
	when_handed_over TEXT NOT NULL,
	pharmacist_name  TEXT NOT NULL DEFAULT '',
	pharmacist_reg   TEXT NOT NULL DEFAULT '',
	pharmacy_name    TEXT NOT NULL DEFAULT '',
	pharmacy_oid     TEXT NOT NULL DEFAULT '',
	version          INTEGER NOT NULL,
	last_updated     TEXT NOT NULL
);
CREATE INDEX medication_dispense_patient ON medication_dispense(patient_id);
CREATE INDEX medication_dispense_request ON medication_dispense(request_id);

CREATE TABLE identifier (
	resource_type TEXT NOT NULL,
	resource_id   TEXT NOT NULL,
	position      INTEGER NOT NULL,
	system        TEXT NOT NULL,
	value         TEXT NOT NULL,
	PRIMARY KEY (resource_type, resource_id, position)
);
CREATE UNIQUE INDEX identifier_unique ON identifier(resource_type, system, value);
CREATE INDEX identifier_value ON identifier(resource_type, value);
