-- The fault log (issue 22): one row per call the Prescription Centre client
-- made, for `tiski fault triage` and the fault report to read from any
-- process. It holds the operation class, the outcome class, the HTTP status
-- and the latency: never a patient's data, an identifier or a URL. It is
-- bounded: each batch written prunes the rows past the last FaultLogKeep
-- (by seq, the primary key, so the prune is a range delete).
CREATE TABLE fault_log (
	seq        INTEGER PRIMARY KEY,
	at_ms      INTEGER NOT NULL,                   -- when the call was sent, Unix milliseconds
	op         TEXT NOT NULL CHECK (op IN ('read', 'search', 'write', 'probe')),
	outcome    TEXT NOT NULL,                      -- ok, refused, silent, timeout, tls, dns, cut, throttled, 5xx, 4xx, bad, network
	status     INTEGER NOT NULL DEFAULT 0,         -- HTTP status; 0: no answer
	latency_us INTEGER NOT NULL                    -- microseconds from sending to the end
) STRICT;
