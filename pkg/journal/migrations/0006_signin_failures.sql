-- Failed sign-ins in a row, per id tried (issue 18): after enough of them
-- the id is locked until IT runs `tiski users unlock ID`.
--
-- An id that is no user is counted the same way, in the same table, so the
-- count, the delay, the lock and the answer never say whether a user
-- exists. An attempt is counted when it is admitted, before its PIN is
-- checked, so attempts made at once (two terminals, scripts in parallel)
-- cannot all slip in before the first failure is written; a success
-- deletes the row. The audit of each failure, lockout and unlock is a
-- 'signin' record in the hash chain; this table is only the count.
CREATE TABLE signin_failures (
	user_id   TEXT PRIMARY KEY,                    -- the id tried, masked when it looks like an identity code
	failures  INTEGER NOT NULL CHECK (failures > 0),
	last_at   TEXT NOT NULL,                       -- when the last attempt was admitted
	locked_at TEXT NOT NULL DEFAULT ''             -- '' while not locked
) STRICT;
