-- Fewer index pages for each durable append (DESIGN §10: an append's p99
-- within 2× the fsync floor). Every index an append touches adds a 4 KB page
-- to its WAL commit: a dispensing for upload wrote eleven. Three go:
--
-- * records_kind now leaves dispensings out. It serves the mode (the last
--   mode_change), fault periods, voids and resolutions, which are few;
--   dispensings are most of the journal and are found by patient. A query
--   that uses it says "kind <> 'dispensing'" in so many words, as SQLite
--   requires of a partial index.
-- * records_time goes. Only `journal export --since` filtered on time
--   alone; it now reads the records in order, as an export does anyway.
-- * outbox_unsent and outbox_state become one index of the entries not yet
--   final (neither done nor voided): what is leased, counted as oldest
--   pending, woken, or listed for review. Queries that use it say
--   "state NOT IN ('done', 'voided')".
DROP INDEX records_kind;
CREATE INDEX records_kind ON records (kind, seq) WHERE kind <> 'dispensing';
DROP INDEX records_time;
DROP INDEX outbox_unsent;
DROP INDEX outbox_state;
CREATE INDEX outbox_open ON outbox (record_seq) WHERE state NOT IN ('done', 'voided');
