-- The medicine catalogue (issue 24; README, "Medication"): what a
-- pharmacy's catalogue needs of each package, the package's status
-- (inactive: withdrawn from sale), and its lastUpdated as milliseconds
-- since the Unix epoch, which _lastUpdated searches compare and by which
-- Medication searches are ordered and paged (with the id, as a keyset).
ALTER TABLE medication ADD COLUMN pack_text TEXT NOT NULL DEFAULT '';          -- "30 fol", "100 ml"
ALTER TABLE medication ADD COLUMN prescription TEXT NOT NULL DEFAULT 'R';      -- R prescription, K self-care
ALTER TABLE medication ADD COLUMN substitution_group TEXT NOT NULL DEFAULT '';
ALTER TABLE medication ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive'));
ALTER TABLE medication ADD COLUMN updated_ms INTEGER NOT NULL DEFAULT 0;
UPDATE medication SET updated_ms = CAST(round((julianday(last_updated) - 2440587.5) * 86400000) AS INTEGER);
CREATE INDEX medication_updated ON medication(updated_ms, id);
