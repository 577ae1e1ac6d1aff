package journal

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Adopting another counter's uploads (`tiski sync adopt`, issue 19).
//
// Each counter uploads its own records. When a counter dies with records
// not yet uploaded, another counter of the pharmacy adopts them: it takes
// the dead counter's records marked for upload from its peer records into
// a lane of its own, the adopted lane, and uploads them from there with
// the same queue (AdoptLane implements what queue.Worker needs). The
// outbox cannot hold them: its entries reference this counter's records.
//
// The adopting counter cannot know which of them the dead one uploaded
// before it died: it adopts them all. Uploading one already upstream does
// no harm, since every create is conditional on the record's UUID: the
// Prescription Centre answers with the one it has, and the entry is done.
// The same holds when the adopted counter returns and uploads them itself.
//
// The lane's table is migration 0008's.

const (
	adoptColumns = `record_id, lane_seq, kind, state, attempts, next_attempt, lease_owner, lease_expires, last_attempt,
	last_error, upstream_id, coalesce(depends_on, ''), conflict, created_at, updated_at`
	// adoptLeaseQuery selects up to ?2 adopted entries due at ?1, oldest
	// first. An entry waits while the record it depends on is adopted and
	// neither done nor voided.
	adoptLeaseQuery = `SELECT o.lane_seq FROM adopted o
		WHERE o.state IN ('pending', 'retry', 'sending')
			AND ((o.state IN ('pending', 'retry') AND o.next_attempt <= ?1) OR (o.state = 'sending' AND o.lease_expires <= ?1))
			AND (o.depends_on IS NULL OR NOT EXISTS (SELECT 1 FROM adopted d WHERE d.record_id = o.depends_on AND d.state NOT IN ('done', 'voided')))
		ORDER BY o.lane_seq LIMIT ?2`
)

// AdoptedRecord is one record Adopt took over.
type AdoptedRecord struct {
	ID    string      `json:"id"`
	Seq   int64       `json:"seq"` // its place in its counter's chain
	Kind  Kind        `json:"kind"`
	Time  time.Time   `json:"time"`  // when it happened
	State OutboxState `json:"state"` // pending, or voided when its counter voided it before it was uploaded
}

// Adoption is what Adopt did.
type Adoption struct {
	Counter string          `json:"counter"`
	By      string          `json:"by"`      // who adopted (IT's user and host)
	At      time.Time       `json:"at"`      //
	Adopted []AdoptedRecord `json:"adopted"` // taken over now, in the counter's order
	Already int             `json:"already"` // adopted by an earlier adoption, left as they are
	// UploadedThrough is what the counter had said of its uploads: its
	// records up to here are done or voided there. DoneThere of those
	// adopted now were adopted done, not to be sent from here.
	UploadedThrough int64 `json:"uploaded_through"`
	DoneThere       int   `json:"done_at_counter"`
}

// Pending is how many of the records adopted now are to be uploaded.
func (a Adoption) Pending() int {
	n := 0
	for _, r := range a.Adopted {
		if r.State == OutboxPending {
			n++
		}
	}
	return n
}

// Adopt takes over the upload of counter's records: every record of that
// counter kept here (its peer records) that its counter marked for upload,
// and that was not adopted before, joins the adopted lane, pending. A
// record its counter voided is adopted voided: never sent, and counted as
// attempted when the void itself is to be uploaded (an attempt may have
// landed), so the adopted void voids it upstream. A record adopted earlier,
// voided at its counter since and never attempted here becomes voided too.
// by names who adopted, for the audit. One IMMEDIATE transaction.
//
// uploadedThrough is what the counter last said of its own uploads (its
// UploadedThrough, announced through the hub; 0 when unknown): its records
// up to that place in its chain are done or voided there. They join the
// lane done, never to be sent from here, unless voided at their counter;
// being in the lane, a void adopted later still finds them uploaded and
// voids them upstream.
//
// This counter's own name is refused (rx.EINVALID), and a counter of which
// no record is kept here (rx.ENOTFOUND).
func (j *Journal) Adopt(ctx context.Context, counter, by string, uploadedThrough int64) (Adoption, error) {
	counter = strings.TrimSpace(counter)
	a := Adoption{Counter: counter, By: by, Adopted: []AdoptedRecord{}, UploadedThrough: max(uploadedThrough, 0)}
	if counter == "" {
		return a, rx.Errorf(rx.EINVALID, "Name the counter whose uploads to adopt, for example kassa-1.")
	}
	if counter == j.terminal {
		return a, rx.Errorf(rx.EINVALID, "%s is this counter: its own queue uploads its records (tiski sync run). Run tiski sync adopt at another counter.", counter)
	}
	err := j.write(ctx, "adopt a counter's uploads", func(t *tx) error {
		a.At = t.now
		var known int
		if err := t.QueryRowContext(ctx, `SELECT count(*) FROM peer_records WHERE counter = ?`, counter).Scan(&known); err != nil {
			return err
		}
		if known == 0 {
			return unknownCounter(ctx, t, counter)
		}
		// The voids of the pharmacy: a record voided at its counter is not
		// sent; landed is whether the void goes upstream itself.
		landed := map[string]bool{}
		rows, err := t.QueryContext(ctx, `SELECT refers_to, upload FROM peer_records WHERE kind = 'void' AND refers_to IS NOT NULL`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var target string
			var upload int
			if err := rows.Scan(&target, &upload); err != nil {
				rows.Close()
				return err
			}
			landed[target] = landed[target] || upload == 1
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// A record adopted earlier and voided at its counter since, never
		// attempted here, is not sent either.
		for target := range landed {
			if _, err := t.ExecContext(ctx, `UPDATE adopted SET state = 'voided', next_attempt = '', updated_at = ?
				WHERE record_id = ? AND counter = ? AND state = 'pending' AND attempts = 0`, ts(t.now), target, counter); err != nil {
				return err
			}
		}
		rows, err = t.QueryContext(ctx, `SELECT p.id, p.seq, p.kind, p.time, p.created_at, coalesce(p.depends_on, ''), a.record_id IS NOT NULL
			FROM peer_records p LEFT JOIN adopted a ON a.record_id = p.id
			WHERE p.counter = ? AND p.upload = 1 ORDER BY p.seq`, counter)
		if err != nil {
			return err
		}
		type candidate struct {
			AdoptedRecord
			created, dependsOn string
		}
		var cands []candidate
		for rows.Next() {
			var c candidate
			var kind, when string
			var already bool
			if err := rows.Scan(&c.ID, &c.Seq, &kind, &when, &c.created, &c.dependsOn, &already); err != nil {
				rows.Close()
				return err
			}
			if already {
				a.Already++
				continue
			}
			c.Kind = Kind(kind)
			if c.Time, err = parseTS(when); err != nil {
				rows.Close()
				return err
			}
			cands = append(cands, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		now := ts(t.now)
		for _, c := range cands {
			c.State = OutboxPending
			attempts, next, why := 0, now, ""
			up, voided := landed[c.ID]
			switch {
			case voided:
				c.State, next = OutboxVoided, ""
				if up {
					attempts = 1
				}
			case c.Seq <= a.UploadedThrough:
				c.State, next, why = OutboxDone, "", "uploaded by its own counter"
				a.DoneThere++
			}
			if _, err := t.ExecContext(ctx, `INSERT INTO adopted (record_id, counter, peer_seq, kind, state, attempts, next_attempt, depends_on,
					last_error, created_at, updated_at, adopted_at, adopted_by)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				c.ID, counter, c.Seq, string(c.Kind), string(c.State), attempts, next, nullable(c.dependsOn), why, c.created, now, now, by); err != nil {
				return err
			}
			a.Adopted = append(a.Adopted, c.AdoptedRecord)
		}
		return nil
	})
	return a, err
}

// unknownCounter is the error for a counter of which nothing is kept here.
func unknownCounter(ctx context.Context, t *tx, counter string) error {
	rows, err := t.QueryContext(ctx, `SELECT DISTINCT counter FROM peer_records ORDER BY counter`)
	if err != nil {
		return err
	}
	names, err := appendRows(nil, rows, func(s scanner) (string, error) {
		var n string
		return n, s.Scan(&n)
	})
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return rx.Errorf(rx.ENOTFOUND, "This journal holds no records of counter %s, nor of any other counter: check that the hub is configured and reachable (tiski sync status), then try again.", counter)
	}
	return rx.Errorf(rx.ENOTFOUND, "This journal holds no records of counter %s. The counters it holds records of: %s. Check the name (the terminal setting of that counter).", counter, strings.Join(names, ", "))
}

// AdoptLane is the adopted lane seen as an outbox: what queue.Worker needs
// to upload adopted records with the outbox's rules (leases, backoff,
// dependencies, conflicts for review). Its records are peer records.
type AdoptLane struct{ j *Journal }

// AdoptLane returns the journal's adopted lane.
func (j *Journal) AdoptLane() *AdoptLane { return &AdoptLane{j: j} }

// Lease is Journal.Lease for the adopted lane.
func (l *AdoptLane) Lease(ctx context.Context, owner string, max int, ttl time.Duration) ([]OutboxEntry, error) {
	if owner == "" || max <= 0 || ttl <= 0 {
		return nil, rx.Errorf(rx.EINVALID, "A lease needs an owner, a positive count and a positive duration.")
	}
	var leased []OutboxEntry
	err := l.j.write(ctx, "lease adopted records", func(t *tx) error {
		rows, err := t.QueryContext(ctx, adoptLeaseQuery, ts(t.now), max)
		if err != nil {
			return err
		}
		seqs, err := scanSeqs(rows)
		if err != nil {
			return err
		}
		leased, err = leaseLane(ctx, t, owner, ttl, seqs)
		return err
	})
	return leased, err
}

// LeaseDependents is Journal.LeaseDependents for the adopted lane.
func (l *AdoptLane) LeaseDependents(ctx context.Context, owner, recordID string, ttl time.Duration) ([]OutboxEntry, error) {
	if owner == "" || ttl <= 0 {
		return nil, rx.Errorf(rx.EINVALID, "A lease needs an owner and a positive duration.")
	}
	var leased []OutboxEntry
	err := l.j.write(ctx, "lease dependent adopted records", func(t *tx) error {
		parent, err := adoptedEntry(ctx, t, recordID)
		if err != nil {
			return err
		}
		if err := holdsLease(parent, owner, t.now); err != nil {
			return err
		}
		rows, err := t.QueryContext(ctx, `SELECT lane_seq FROM adopted
			WHERE depends_on = ?1 AND (state IN ('pending', 'retry') OR (state = 'sending' AND lease_expires <= ?2))
			ORDER BY lane_seq`, recordID, ts(t.now))
		if err != nil {
			return err
		}
		seqs, err := scanSeqs(rows)
		if err != nil {
			return err
		}
		leased, err = leaseLane(ctx, t, owner, ttl, seqs)
		return err
	})
	return leased, err
}

func leaseLane(ctx context.Context, t *tx, owner string, ttl time.Duration, seqs []int64) ([]OutboxEntry, error) {
	now := ts(t.now)
	leased := make([]OutboxEntry, 0, len(seqs))
	for _, seq := range seqs {
		e, err := scanOutbox(t.QueryRowContext(ctx, `UPDATE adopted SET state = 'sending', lease_owner = ?, lease_expires = ?,
				attempts = attempts + 1, last_attempt = ?, updated_at = ?
			WHERE lane_seq = ? RETURNING `+adoptColumns, owner, ts(t.now.Add(ttl)), now, now, seq))
		if err != nil {
			return nil, err
		}
		leased = append(leased, e)
	}
	return leased, nil
}

func adoptedEntry(ctx context.Context, t *tx, id string) (OutboxEntry, error) {
	notAdopted := rx.Errorf(rx.ENOTFOUND, "The record %s was not adopted.", id)
	e, err := scanOutbox(t.QueryRowContext(ctx, `SELECT `+adoptColumns+` FROM adopted WHERE record_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return OutboxEntry{}, notAdopted
	}
	return e, err
}

// adoptedTable settles the adopted lane's entries as the outbox's.
var adoptedTable = entryTable{name: "adopted", noun: "adopted record", entry: adoptedEntry}

// Complete is Journal.Complete for the adopted lane.
func (l *AdoptLane) Complete(ctx context.Context, id, owner, upstreamID string) error {
	return l.CompleteAll(ctx, owner, []Completion{{ID: id, UpstreamID: upstreamID}})
}

// CompleteAll is Journal.CompleteAll for the adopted lane.
func (l *AdoptLane) CompleteAll(ctx context.Context, owner string, done []Completion) error {
	if len(done) == 0 {
		return nil
	}
	return l.j.write(ctx, "complete adopted records", func(t *tx) error {
		for _, c := range done {
			if err := adoptedTable.settle(ctx, t, c.ID, owner, `state = 'done', upstream_id = ?, last_error = '', next_attempt = ''`, c.UpstreamID); err != nil {
				return err
			}
		}
		return nil
	})
}

// Retry is Journal.Retry for the adopted lane.
func (l *AdoptLane) Retry(ctx context.Context, id, owner string, next time.Time, lastErr string) error {
	return l.RetryAll(ctx, owner, []string{id}, next, lastErr)
}

// RetryAll is Journal.RetryAll for the adopted lane.
func (l *AdoptLane) RetryAll(ctx context.Context, owner string, ids []string, next time.Time, lastErr string) error {
	if len(ids) == 0 {
		return nil
	}
	return l.j.write(ctx, "retry adopted records", func(t *tx) error {
		for _, id := range ids {
			if err := adoptedTable.settle(ctx, t, id, owner, `state = 'retry', next_attempt = ?, last_error = ?`, ts(next), lastErr); err != nil {
				return err
			}
		}
		return nil
	})
}

// Conflict is Journal.Conflict for the adopted lane: the record waits for
// a pharmacist at this, the adopting, counter.
func (l *AdoptLane) Conflict(ctx context.Context, id, owner, reason string) error {
	return l.j.write(ctx, "mark adopted record in conflict", func(t *tx) error {
		return adoptedTable.settle(ctx, t, id, owner, `state = 'conflict', conflict = ?, next_attempt = ''`, reason)
	})
}

// Reject is Journal.Reject for the adopted lane.
func (l *AdoptLane) Reject(ctx context.Context, id, owner, reason string) error {
	return l.j.write(ctx, "reject adopted record", func(t *tx) error {
		return adoptedTable.settle(ctx, t, id, owner, `state = 'rejected', last_error = ?, next_attempt = ''`, reason)
	})
}

// Get returns the record with the id, this counter's or a peer record.
func (l *AdoptLane) Get(ctx context.Context, id string) (Record, error) { return l.j.GetAny(ctx, id) }

// errLaneList is List's answer to a filter the lane does not serve: the
// queue then reads record by record.
var errLaneList = rx.Errorf(rx.EINVALID, "The adopted lane lists only the records that refer to a record.")

// List returns the records, this counter's and its peers', that refer to
// f.RefersTo (a record's resolutions and voids, wherever they were made),
// in the order they happened. Other filters are refused: adopted records
// are not paged by sequence number, which is per counter.
func (l *AdoptLane) List(ctx context.Context, f Filter) ([]Record, error) {
	if f.RefersTo == "" || f.AfterSeq != 0 {
		return nil, errLaneList
	}
	f.Peers = true
	return l.j.List(ctx, f)
}

// Outbox returns the adopted record's upload state; rx.ENOTFOUND when it
// was not adopted.
func (l *AdoptLane) Outbox(ctx context.Context, id string) (OutboxEntry, error) {
	var e OutboxEntry
	err := l.j.read(ctx, "get adopted record", func(t *tx) error {
		var err error
		e, err = adoptedEntry(ctx, t, id)
		return err
	})
	return e, err
}

// OutboxList returns the adopted entries in the given states (all when none
// are given), in the order of adoption.
func (l *AdoptLane) OutboxList(ctx context.Context, states ...OutboxState) ([]OutboxEntry, error) {
	var list []OutboxEntry
	err := l.j.read(ctx, "list adopted records", func(t *tx) error {
		q := `SELECT ` + adoptColumns + ` FROM adopted`
		var args []any
		if len(states) > 0 {
			q += ` WHERE state IN (?` + strings.Repeat(", ?", len(states)-1) + `)`
			for _, s := range states {
				args = append(args, string(s))
			}
		}
		rows, err := t.QueryContext(ctx, q+` ORDER BY lane_seq`, args...)
		if err != nil {
			return err
		}
		list, err = appendEntries(list, rows)
		return err
	})
	return list, err
}

// AdoptedEntry is an adopted record's upload state with its counter.
type AdoptedEntry struct {
	OutboxEntry
	Counter string `json:"counter"`
}

// Adopted lists the adopted entries of counter (every counter when ""), in
// the order of adoption.
func (l *AdoptLane) Adopted(ctx context.Context, counter string) ([]AdoptedEntry, error) {
	var list []AdoptedEntry
	err := l.j.read(ctx, "list adopted records", func(t *tx) error {
		rows, err := t.QueryContext(ctx, `SELECT `+adoptColumns+`, counter FROM adopted WHERE ?1 = '' OR counter = ?1 ORDER BY lane_seq`, counter)
		if err != nil {
			return err
		}
		list, err = appendRows(list, rows, func(s scanner) (AdoptedEntry, error) {
			var a AdoptedEntry
			e, err := scanOutbox(scanFunc(func(dest ...any) error { return s.Scan(append(dest, &a.Counter)...) }))
			a.OutboxEntry = e
			return a, err
		})
		return err
	})
	return list, err
}

// Resolve refuses: a resolution is a record of this counter that refers to
// the record it resolves, and an adopted record is another counter's.
func (l *AdoptLane) Resolve(context.Context, NewRecord, OutboxState) (Record, error) {
	return Record{}, rx.Errorf(rx.EINVALID, "An adopted record is another counter's: it cannot be resolved here through the queue.")
}

// WakeRetries makes every adopted record waiting out a backoff due now.
func (l *AdoptLane) WakeRetries(ctx context.Context) (int, error) {
	var n int64
	err := l.j.write(ctx, "wake adopted retries", func(t *tx) error {
		res, err := t.ExecContext(ctx, `UPDATE adopted SET next_attempt = ?1, updated_at = ?1 WHERE state = 'retry'`, ts(t.now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// Requeue is Journal.Requeue for the adopted lane: a retry, parked,
// conflict or rejected entry becomes pending and due now (IT sends it
// again, for example after a pharmacist reviewed the conflict).
func (l *AdoptLane) Requeue(ctx context.Context, id string) error {
	return l.j.write(ctx, "requeue adopted record", func(t *tx) error {
		e, err := adoptedEntry(ctx, t, id)
		if err != nil {
			return err
		}
		switch e.State {
		case OutboxPending:
			return nil
		case OutboxDone, OutboxVoided, OutboxSending:
			return rx.Errorf(rx.ECONFLICT, "The adopted record %s cannot be sent again: it is %s.", id, e.State)
		}
		_, err = t.ExecContext(ctx, `UPDATE adopted SET state = 'pending', next_attempt = ?1, conflict = '', updated_at = ?1 WHERE record_id = ?2`,
			ts(t.now), id)
		return err
	})
}

// Counts counts the adopted lane's entries by state.
func (l *AdoptLane) Counts(ctx context.Context) (Counts, error) {
	list, err := l.OutboxList(ctx)
	if err != nil {
		return Counts{}, err
	}
	var c Counts
	for _, e := range list {
		switch e.State {
		case OutboxPending:
			c.Pending++
		case OutboxSending:
			c.Sending++
		case OutboxRetry:
			c.Retry++
		case OutboxDone:
			c.Done++
		case OutboxConflict:
			c.Conflict++
		case OutboxRejected:
			c.Rejected++
		case OutboxParked:
			c.Parked++
		case OutboxVoided:
			c.Voided++
		}
		if slices.Contains([]OutboxState{OutboxPending, OutboxSending, OutboxRetry}, e.State) &&
			(c.OldestPending.IsZero() || e.CreatedAt.Before(c.OldestPending)) {
			c.OldestPending = e.CreatedAt
		}
		c.LastAttempt = later(c.LastAttempt, e.LastAttempt)
		if e.State == OutboxDone {
			c.LastDone = later(c.LastDone, e.UpdatedAt)
		}
	}
	return c, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// uploadedThroughQuery finds the last record before the first one not yet
// done or voided: an entry open in the outbox, else a record of the tail,
// else none (every record so far).
const uploadedThroughQuery = `SELECT coalesce(
	(SELECT min(record_seq) FROM outbox WHERE state NOT IN ('done', 'voided')),
	(SELECT min(seq) FROM records WHERE ` + tailWhere + `),
	(SELECT coalesce(max(seq), 0) + 1 FROM records)) - 1`

// UploadedThrough returns the place in this counter's chain up to which
// every record to upload is done or voided: what the counter announces to
// the others through the hub, so that a counter adopting its uploads
// (Adopt) does not send them again. It only grows: an entry done or voided
// stays so.
func (j *Journal) UploadedThrough(ctx context.Context) (int64, error) {
	var n int64
	err := j.read(ctx, "read how far the uploads have gone", func(t *tx) error {
		return t.QueryRowContext(ctx, uploadedThroughQuery).Scan(&n)
	})
	return n, err
}
