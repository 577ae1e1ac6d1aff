-- Overrides and voids (README, "Override" and "Void").
--
-- A voided prescription keeps its life-cycle status (active, completed,
-- cancelled) in status and is marked entered_in_error; rebuilding the table
-- to widen its CHECK would mean dropping a parent table under foreign keys.
ALTER TABLE medication_request ADD COLUMN entered_in_error INTEGER NOT NULL DEFAULT 0;
ALTER TABLE medication_request ADD COLUMN status_reason TEXT NOT NULL DEFAULT '';

-- counted is the part of a dispensing's quantity counted against its
-- prescription: the whole quantity, except for an override, which counts at
-- most what remained. A void gives back exactly what was counted.
ALTER TABLE medication_dispense ADD COLUMN counted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE medication_dispense ADD COLUMN override_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE medication_dispense ADD COLUMN status_reason TEXT NOT NULL DEFAULT '';
UPDATE medication_dispense SET counted = quantity WHERE request_id IS NOT NULL;
