package journal

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// OutboxState is where a record is on its way upstream (DESIGN §5).
type OutboxState string

// Outbox states. An entry is never dropped: conflict, rejected and parked
// wait for a person. Done and voided are final.
const (
	OutboxPending  OutboxState = "pending"  // waiting to be sent
	OutboxSending  OutboxState = "sending"  // leased by a sender until LeaseExpires
	OutboxDone     OutboxState = "done"     // the Prescription Centre has it (UpstreamID)
	OutboxRetry    OutboxState = "retry"    // a transient failure; sent again at NextAttempt
	OutboxConflict OutboxState = "conflict" // upstream disagrees; a pharmacist must review
	OutboxRejected OutboxState = "rejected" // upstream refused it for good; a pharmacist must review
	OutboxParked   OutboxState = "parked"   // set aside by IT; not sent until requeued
	OutboxVoided   OutboxState = "voided"   // voided before it was uploaded; never sent (see Resolve)
)

// Valid reports whether s is a known state.
func (s OutboxState) Valid() bool {
	switch s {
	case OutboxPending, OutboxSending, OutboxDone, OutboxRetry, OutboxConflict, OutboxRejected, OutboxParked, OutboxVoided:
		return true
	}
	return false
}

// OutboxEntry is one record's upload state.
type OutboxEntry struct {
	RecordID     string      `json:"record_id"`
	Seq          int64       `json:"seq"` // the record's sequence number
	Kind         Kind        `json:"kind"`
	State        OutboxState `json:"state"`
	Attempts     int         `json:"attempts"`               // leases handed out so far
	NextAttempt  time.Time   `json:"next_attempt,omitzero"`  // not before; for pending and retry
	LeaseOwner   string      `json:"lease_owner,omitempty"`  // the sender holding it, while sending
	LeaseExpires time.Time   `json:"lease_expires,omitzero"` // when another sender may take it over
	LastAttempt  time.Time   `json:"last_attempt,omitzero"`  // when it was last leased
	LastError    string      `json:"last_error,omitempty"`   // the last failure, or why it was rejected or parked
	UpstreamID   string      `json:"upstream_id,omitempty"`  // the Prescription Centre's id, once done
	DependsOn    string      `json:"depends_on,omitempty"`   // the record that must be done first
	Conflict     string      `json:"conflict,omitempty"`     // why it is in conflict
	CreatedAt    time.Time   `json:"created_at"`             //
	UpdatedAt    time.Time   `json:"updated_at"`             //
}

const outboxColumns = `record_id, record_seq, kind, state, attempts, next_attempt, lease_owner, lease_expires, last_attempt,
	last_error, upstream_id, coalesce(depends_on, ''), conflict, created_at, updated_at`

func scanOutbox(s scanner) (OutboxEntry, error) {
	var e OutboxEntry
	var kind, state, next, expires, last, created, updated string
	if err := s.Scan(&e.RecordID, &e.Seq, &kind, &state, &e.Attempts, &next, &e.LeaseOwner, &expires, &last,
		&e.LastError, &e.UpstreamID, &e.DependsOn, &e.Conflict, &created, &updated); err != nil {
		return OutboxEntry{}, err
	}
	e.Kind, e.State = Kind(kind), OutboxState(state)
	for _, f := range []struct {
		dst *time.Time
		src string
	}{{&e.NextAttempt, next}, {&e.LeaseExpires, expires}, {&e.LastAttempt, last}, {&e.CreatedAt, created}, {&e.UpdatedAt, updated}} {
		t, err := parseTS(f.src)
		if err != nil {
			return OutboxEntry{}, err
		}
		*f.dst = t
	}
	return e, nil
}

// The outbox queries that look for entries not yet final say "state NOT IN
// ('done', 'voided')", which lets SQLite use the partial index outbox_open
// rather than read every entry ever uploaded.
const (
	// leaseQuery selects up to ?2 entries due at ?1, oldest first.
	leaseQuery = `SELECT o.record_seq FROM outbox o
		WHERE o.state IN ('pending', 'retry', 'sending') AND o.state NOT IN ('done', 'voided')
			AND ((o.state IN ('pending', 'retry') AND o.next_attempt <= ?1) OR (o.state = 'sending' AND o.lease_expires <= ?1))
			AND (o.depends_on IS NULL OR EXISTS (SELECT 1 FROM outbox d WHERE d.record_id = o.depends_on AND d.state IN ('done', 'voided')))
		ORDER BY o.record_seq LIMIT ?2`
	// statusQuery reads when the oldest entry not yet sent was recorded,
	// and the last outcomes.
	statusQuery = `SELECT coalesce((SELECT created_at FROM outbox WHERE state IN ('pending', 'retry', 'sending') AND state NOT IN ('done', 'voided')
			ORDER BY record_seq LIMIT 1), ''),
		last_done, last_attempt, last_error, last_error_at FROM outbox_status WHERE id = 1`
)

// Lease hands owner up to max entries that are due: pending or retry entries
// whose next attempt has come, and sending entries whose lease expired (their
// sender died). An entry whose DependsOn is neither done nor voided is never
// handed out.
// Oldest first. The lease lasts ttl. Leasing is one IMMEDIATE transaction,
// so two processes never lease the same entry.
//
// owner must be unique to the sender (for example host, process id and a
// random suffix): only the current owner may settle a lease.
func (j *Journal) Lease(ctx context.Context, owner string, max int, ttl time.Duration) ([]OutboxEntry, error) {
	if owner == "" || max <= 0 || ttl <= 0 {
		return nil, rx.Errorf(rx.EINVALID, "A lease needs an owner, a positive count and a positive duration.")
	}
	var leased []OutboxEntry
	err := j.write(ctx, "lease outbox entries", func(t *tx) error {
		now := ts(t.now)
		rows, err := t.QueryContext(ctx, leaseQuery, now, max)
		if err != nil {
			return err
		}
		var seqs []int64
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				rows.Close()
				return err
			}
			seqs = append(seqs, seq)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		leased, err = leaseSeqs(ctx, t, owner, ttl, seqs)
		return err
	})
	return leased, err
}

// entryTable is a table of upload states: the outbox, or the adopted lane
// of another counter's records (adopt.go). Both settle alike.
type entryTable struct {
	name  string // the table
	noun  string // how a message names one of its records
	entry func(ctx context.Context, t *tx, id string) (OutboxEntry, error)
}

var outboxTable = entryTable{name: "outbox", noun: "record", entry: outboxEntry}

// settle moves a leased entry of the outbox out of sending.
func settle(ctx context.Context, t *tx, id, owner string, set string, args ...any) error {
	return outboxTable.settle(ctx, t, id, owner, set, args...)
}

// settle moves a leased entry out of sending, after checking that owner
// holds its lease, so a sender whose lease expired and was taken over
// cannot overwrite the new holder's outcome. The check is the UPDATE's own
// condition: one statement for the entry, the same whether one entry or a
// group of them is settled (the upload worker completes dozens in one
// transaction). The entry is read only to explain a refusal.
func (tb entryTable) settle(ctx context.Context, t *tx, id, owner string, set string, args ...any) error {
	args = append(args, ts(t.now), id, owner)
	res, err := t.ExecContext(ctx, `UPDATE `+tb.name+` SET `+set+`, lease_owner = '', lease_expires = '', updated_at = ?
		WHERE record_id = ? AND state = 'sending' AND lease_owner = ?`, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 1 {
		return err
	}
	e, err := tb.entry(ctx, t, id)
	if err != nil {
		return err
	}
	holder := "nobody"
	if e.State == OutboxSending {
		holder = e.LeaseOwner
	}
	return rx.Errorf(rx.ECONFLICT, "The %s %s is not leased to %s (it is %s, leased to %s).", tb.noun, id, owner, e.State, holder)
}

// Complete records that the Prescription Centre has the record, under
// upstreamID. Only the lease owner may complete it (else rx.ECONFLICT).
func (j *Journal) Complete(ctx context.Context, id, owner, upstreamID string) error {
	return j.write(ctx, "complete outbox entry", func(t *tx) error {
		if err := settle(ctx, t, id, owner, `state = 'done', upstream_id = ?, last_error = '', next_attempt = ''`, upstreamID); err != nil {
			return err
		}
		_, err := t.ExecContext(ctx, `UPDATE outbox_status SET last_done = ? WHERE id = 1`, ts(t.now))
		return err
	})
}

// Retry records a transient failure: the entry is sent again at next. Only
// the lease owner may do this (else rx.ECONFLICT).
func (j *Journal) Retry(ctx context.Context, id, owner string, next time.Time, lastErr string) error {
	return j.write(ctx, "retry outbox entry", func(t *tx) error {
		if err := settle(ctx, t, id, owner, `state = 'retry', next_attempt = ?, last_error = ?`, ts(next), lastErr); err != nil {
			return err
		}
		_, err := t.ExecContext(ctx, `UPDATE outbox_status SET last_error = ?, last_error_at = ? WHERE id = 1`, lastErr, ts(t.now))
		return err
	})
}

// Conflict records that the Prescription Centre disagrees with the record
// (dispensed elsewhere, locked, a possible duplicate): a pharmacist must
// review it. Only the lease owner may do this (else rx.ECONFLICT).
func (j *Journal) Conflict(ctx context.Context, id, owner, reason string) error {
	return j.write(ctx, "mark outbox entry in conflict", func(t *tx) error {
		return settle(ctx, t, id, owner, `state = 'conflict', conflict = ?, next_attempt = ''`, reason)
	})
}

// Reject records that the Prescription Centre refused the record for good:
// a pharmacist must review it. Only the lease owner may do this (else
// rx.ECONFLICT).
func (j *Journal) Reject(ctx context.Context, id, owner, reason string) error {
	return j.write(ctx, "reject outbox entry", func(t *tx) error {
		if err := settle(ctx, t, id, owner, `state = 'rejected', last_error = ?, next_attempt = ''`, reason); err != nil {
			return err
		}
		_, err := t.ExecContext(ctx, `UPDATE outbox_status SET last_error = ?, last_error_at = ? WHERE id = 1`, reason, ts(t.now))
		return err
	})
}

// Park sets an entry aside (tiski queue park): it is not sent until
// Requeue. An entry being sent under a live lease cannot be parked, nor a
// done one (rx.ECONFLICT).
func (j *Journal) Park(ctx context.Context, id, reason string) error {
	return j.write(ctx, "park outbox entry", func(t *tx) error {
		e, err := outboxEntry(ctx, t, id)
		if err != nil {
			return err
		}
		if e.State == OutboxDone || e.State == OutboxVoided || e.State == OutboxParked || (e.State == OutboxSending && e.LeaseExpires.After(t.now)) {
			return rx.Errorf(rx.ECONFLICT, "The record %s cannot be parked: it is %s.", id, e.State)
		}
		_, err = t.ExecContext(ctx, `UPDATE outbox SET state = 'parked', last_error = ?, lease_owner = '', lease_expires = '',
			next_attempt = '', updated_at = ? WHERE record_id = ?`, reason, ts(t.now), id)
		return err
	})
}

// Requeue makes a retry, parked, conflict or rejected entry pending and due
// now (tiski queue retry). A pending entry is left as it is; a done or
// voided entry or one being sent cannot be requeued (rx.ECONFLICT).
func (j *Journal) Requeue(ctx context.Context, id string) error {
	return j.write(ctx, "requeue outbox entry", func(t *tx) error {
		e, err := outboxEntry(ctx, t, id)
		if err != nil {
			return err
		}
		switch e.State {
		case OutboxPending:
			return nil
		case OutboxDone, OutboxVoided, OutboxSending:
			return rx.Errorf(rx.ECONFLICT, "The record %s cannot be sent again: it is %s.", id, e.State)
		}
		_, err = t.ExecContext(ctx, `UPDATE outbox SET state = 'pending', next_attempt = ?, conflict = '', updated_at = ? WHERE record_id = ?`,
			ts(t.now), ts(t.now), id)
		return err
	})
}

// Outbox returns the outbox entry of the record; rx.ENOTFOUND when the
// record has none.
func (j *Journal) Outbox(ctx context.Context, id string) (OutboxEntry, error) {
	var e OutboxEntry
	err := j.read(ctx, "get outbox entry", func(t *tx) error {
		var err error
		e, err = outboxEntry(ctx, t, id)
		return err
	})
	return e, err
}

func outboxEntry(ctx context.Context, t *tx, id string) (OutboxEntry, error) {
	e, err := scanOutbox(t.QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE record_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		e, err = scanOutbox(t.QueryRowContext(ctx, `SELECT `+tailColumns+` FROM records WHERE id = ? AND `+tailWhere, id))
	}
	if errors.Is(err, sql.ErrNoRows) {
		return OutboxEntry{}, rx.Errorf(rx.ENOTFOUND, "The record %s is not in the outbox.", id)
	}
	return e, err
}

// OutboxList returns the entries in the given states (all when none are
// given), oldest first.
func (j *Journal) OutboxList(ctx context.Context, states ...OutboxState) ([]OutboxEntry, error) {
	var list []OutboxEntry
	err := j.read(ctx, "list outbox", func(t *tx) error {
		q := `SELECT ` + outboxColumns + ` FROM outbox`
		var args []any
		if len(states) > 0 {
			q += ` WHERE state IN (?` + strings.Repeat(", ?", len(states)-1) + `)`
			for _, s := range states {
				args = append(args, string(s))
			}
			if !slices.Contains(states, OutboxDone) && !slices.Contains(states, OutboxVoided) {
				// Lets SQLite use the partial index outbox_open.
				q += ` AND state NOT IN ('done', 'voided')`
			}
		}
		rows, err := t.QueryContext(ctx, q+` ORDER BY record_seq`, args...)
		if err != nil {
			return err
		}
		if list, err = appendEntries(list, rows); err != nil {
			return err
		}
		// The tail follows: its records come after every entry taken in.
		if len(states) > 0 && !slices.Contains(states, OutboxPending) {
			return nil
		}
		rows, err = t.QueryContext(ctx, `SELECT `+tailColumns+` FROM records WHERE `+tailWhere+` ORDER BY seq`)
		if err != nil {
			return err
		}
		list, err = appendEntries(list, rows)
		return err
	})
	return list, err
}

// appendEntries appends the entries rows reads to list, and closes rows.
func appendEntries(list []OutboxEntry, rows *sql.Rows) ([]OutboxEntry, error) {
	return appendRows(list, rows, scanOutbox)
}

// appendRows appends what scan reads of each row to list, and closes rows.
func appendRows[T any](list []T, rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return list, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}

// Counts is the outbox at a glance, for the status line and sync status.
type Counts struct {
	Pending       int64     `json:"pending"`
	Sending       int64     `json:"sending"`
	Retry         int64     `json:"retry"`
	Done          int64     `json:"done"`
	Conflict      int64     `json:"conflict"`
	Rejected      int64     `json:"rejected"`
	Parked        int64     `json:"parked"`
	Voided        int64     `json:"voided"`
	OldestPending time.Time `json:"oldest_pending,omitzero"` // when the oldest entry not yet sent was recorded
	LastDone      time.Time `json:"last_done,omitzero"`      // the last successful upload
	LastAttempt   time.Time `json:"last_attempt,omitzero"`   // the last lease handed out
	LastError     string    `json:"last_error,omitempty"`    // the last failure or rejection
	LastErrorAt   time.Time `json:"last_error_at,omitzero"`
}

// Unsent is the number of entries still to reach the Prescription Centre
// on their own: pending, sending and retry.
func (c Counts) Unsent() int64 { return c.Pending + c.Sending + c.Retry }

// NeedsReview is the number of entries waiting for a person: conflict,
// rejected and parked.
func (c Counts) NeedsReview() int64 { return c.Conflict + c.Rejected + c.Parked }

// Counts returns the outbox counts. It reads counters kept by triggers, one
// indexed row and the records not yet taken in (a range from the end of
// the records), so it stays fast however long the journal grows.
func (j *Journal) Counts(ctx context.Context) (Counts, error) {
	var c Counts
	err := j.read(ctx, "count outbox", func(t *tx) error {
		rows, err := t.QueryContext(ctx, `SELECT state, n FROM outbox_counts`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var state string
			var n int64
			if err := rows.Scan(&state, &n); err != nil {
				return err
			}
			switch OutboxState(state) {
			case OutboxPending:
				c.Pending = n
			case OutboxSending:
				c.Sending = n
			case OutboxRetry:
				c.Retry = n
			case OutboxDone:
				c.Done = n
			case OutboxConflict:
				c.Conflict = n
			case OutboxRejected:
				c.Rejected = n
			case OutboxParked:
				c.Parked = n
			case OutboxVoided:
				c.Voided = n
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		var oldest, lastDone, lastAttempt, lastErrorAt string
		err = t.QueryRowContext(ctx, statusQuery).Scan(&oldest, &lastDone, &lastAttempt, &c.LastError, &lastErrorAt)
		if err != nil {
			return err
		}
		for _, f := range []struct {
			dst *time.Time
			src string
		}{{&c.OldestPending, oldest}, {&c.LastDone, lastDone}, {&c.LastAttempt, lastAttempt}, {&c.LastErrorAt, lastErrorAt}} {
			if *f.dst, err = parseTS(f.src); err != nil {
				return err
			}
		}
		// The records not yet taken in are pending too, and newer than
		// every entry that is.
		n, tailOldest, err := tailCount(ctx, t)
		if err != nil {
			return err
		}
		c.Pending += n
		if c.OldestPending.IsZero() {
			c.OldestPending = tailOldest
		}
		return nil
	})
	return c, err
}

// LeaseDependents leases to owner the entries that wait for recordID (their
// DependsOn) and may be sent: pending and retry entries, whatever their next
// attempt, and sending entries whose lease expired (a sender died holding
// them with their prescription). Oldest first; the lease lasts ttl. It is one
// IMMEDIATE transaction.
//
// owner must hold a live lease on recordID itself (else rx.ECONFLICT): the
// worker leases a journal prescription with Lease, then its dispensings with
// LeaseDependents, and sends them upstream in one transaction.
func (j *Journal) LeaseDependents(ctx context.Context, owner, recordID string, ttl time.Duration) ([]OutboxEntry, error) {
	if owner == "" || ttl <= 0 {
		return nil, rx.Errorf(rx.EINVALID, "A lease needs an owner and a positive duration.")
	}
	var leased []OutboxEntry
	err := j.write(ctx, "lease dependent outbox entries", func(t *tx) error {
		parent, err := outboxEntry(ctx, t, recordID)
		if err != nil {
			return err
		}
		if err := holdsLease(parent, owner, t.now); err != nil {
			return err
		}
		now := ts(t.now)
		rows, err := t.QueryContext(ctx, `SELECT record_seq FROM outbox
			WHERE depends_on = ?1 AND (state IN ('pending', 'retry') OR (state = 'sending' AND lease_expires <= ?2))
			ORDER BY record_seq`, recordID, now)
		if err != nil {
			return err
		}
		seqs, err := scanSeqs(rows)
		if err != nil {
			return err
		}
		leased, err = leaseSeqs(ctx, t, owner, ttl, seqs)
		return err
	})
	return leased, err
}

// holdsLease fails with rx.ECONFLICT unless owner holds a live lease on e.
func holdsLease(e OutboxEntry, owner string, now time.Time) error {
	switch {
	case e.State != OutboxSending:
		return rx.Errorf(rx.ECONFLICT, "The record %s is not leased to %s (it is %s).", e.RecordID, owner, e.State)
	case e.LeaseOwner != owner:
		return rx.Errorf(rx.ECONFLICT, "The record %s is not leased to %s (it is leased to %s).", e.RecordID, owner, e.LeaseOwner)
	case !e.LeaseExpires.After(now):
		return rx.Errorf(rx.ECONFLICT, "The lease of %s on the record %s has expired.", owner, e.RecordID)
	}
	return nil
}

func scanSeqs(rows *sql.Rows) ([]int64, error) {
	return appendRows(nil, rows, func(s scanner) (int64, error) {
		var seq int64
		err := s.Scan(&seq)
		return seq, err
	})
}

// Completion is one entry for CompleteAll: the record and the Prescription
// Centre's id for it.
type Completion struct {
	ID         string `json:"id"`
	UpstreamID string `json:"upstream_id"`
}

// CompleteAll completes several leased entries in one transaction, as one
// upstream transaction sent them: all are done when it returns, or none is
// (rx.ECONFLICT when owner does not hold the lease of one of them).
func (j *Journal) CompleteAll(ctx context.Context, owner string, done []Completion) error {
	if len(done) == 0 {
		return nil
	}
	return j.write(ctx, "complete outbox entries", func(t *tx) error {
		for _, c := range done {
			if err := settle(ctx, t, c.ID, owner, `state = 'done', upstream_id = ?, last_error = '', next_attempt = ''`, c.UpstreamID); err != nil {
				return err
			}
		}
		_, err := t.ExecContext(ctx, `UPDATE outbox_status SET last_done = ? WHERE id = 1`, ts(t.now))
		return err
	})
}

// RetryAll is Retry for several leased entries in one transaction, all or
// none: for example the dispensings sent with a prescription that failed.
func (j *Journal) RetryAll(ctx context.Context, owner string, ids []string, next time.Time, lastErr string) error {
	if len(ids) == 0 {
		return nil
	}
	return j.write(ctx, "retry outbox entries", func(t *tx) error {
		for _, id := range ids {
			if err := settle(ctx, t, id, owner, `state = 'retry', next_attempt = ?, last_error = ?`, ts(next), lastErr); err != nil {
				return err
			}
		}
		_, err := t.ExecContext(ctx, `UPDATE outbox_status SET last_error = ?, last_error_at = ? WHERE id = 1`, lastErr, ts(t.now))
		return err
	})
}

// Dependents returns the entries that wait for recordID (their DependsOn is
// it), oldest first, whatever their state: what waits behind a record in
// conflict, and why.
func (j *Journal) Dependents(ctx context.Context, recordID string) ([]OutboxEntry, error) {
	var list []OutboxEntry
	err := j.read(ctx, "list dependent outbox entries", func(t *tx) error {
		var err error
		list, err = dependents(ctx, t, recordID)
		return err
	})
	return list, err
}

func dependents(ctx context.Context, t *tx, recordID string) ([]OutboxEntry, error) {
	rows, err := t.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE depends_on = ? ORDER BY record_seq`, recordID)
	if err != nil {
		return nil, err
	}
	list, err := appendEntries(nil, rows)
	if err != nil {
		return nil, err
	}
	// And those not yet taken in (none in a write transaction).
	rows, err = t.QueryContext(ctx, tailDependentsQuery, recordID)
	if err != nil {
		return nil, err
	}
	return appendEntries(list, rows)
}

// leaseSeqs hands the entries with these sequence numbers to owner for ttl,
// counting an attempt on each, and notes the attempt time for sync status.
// One statement leases them all (a statement an entry cost a lease of a
// batch a round trip through the driver for each); the entries come back
// in sequence order.
func leaseSeqs(ctx context.Context, t *tx, owner string, ttl time.Duration, seqs []int64) ([]OutboxEntry, error) {
	if len(seqs) == 0 {
		return []OutboxEntry{}, nil
	}
	now := ts(t.now)
	list := make([]byte, 0, 12*len(seqs))
	list = append(list, '[')
	for i, seq := range seqs {
		if i > 0 {
			list = append(list, ',')
		}
		list = strconv.AppendInt(list, seq, 10)
	}
	list = append(list, ']')
	rows, err := t.QueryContext(ctx, `UPDATE outbox SET state = 'sending', lease_owner = ?, lease_expires = ?,
			attempts = attempts + 1, last_attempt = ?, updated_at = ?
		WHERE record_seq IN (SELECT value FROM json_each(?)) RETURNING `+outboxColumns, owner, ts(t.now.Add(ttl)), now, now, string(list))
	if err != nil {
		return nil, err
	}
	leased, err := appendEntries(make([]OutboxEntry, 0, len(seqs)), rows)
	if err != nil {
		return nil, err
	}
	if len(leased) != len(seqs) {
		return nil, fmt.Errorf("leased %d of the %d entries chosen", len(leased), len(seqs))
	}
	// RETURNING gives no order.
	slices.SortFunc(leased, func(a, b OutboxEntry) int { return cmp.Compare(a.Seq, b.Seq) })
	if _, err := t.ExecContext(ctx, `UPDATE outbox_status SET last_attempt = ? WHERE id = 1`, now); err != nil {
		return nil, err
	}
	return leased, nil
}
