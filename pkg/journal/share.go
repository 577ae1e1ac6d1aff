package journal

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// The share lane and the peer records (migration 0007, issue 19).
//
// The share lane is every record after share_lane.through. A record joins
// it in the transaction that commits it, with nothing written beside it:
// the lane costs an append no page and no fsync. pkg/hub publishes the
// lane's records to the pharmacy's hub in sequence order and moves the
// mark on (MarkShared); the other counters keep them in peer_records
// (AddPeer), read-only, after recomputing each record's hash.

// SharedRecord is a record as the hub carries it: the record with its
// counter (Terminal), its place in that counter's chain (Seq) and its
// hash, and beside it what the outbox needs to upload it from another
// counter (`tiski sync adopt`), which the hash does not cover.
type SharedRecord struct {
	Record
	Upload    bool   `json:"upload,omitempty"`
	DependsOn string `json:"depends_on,omitempty"`
}

// ShareState is how far the share lane has gone.
type ShareState struct {
	Through  int64     `json:"through"`  // the last record shared
	Last     int64     `json:"last"`     // the last record in the journal
	Unshared int64     `json:"unshared"` // records not yet shared: Last - Through
	Oldest   time.Time `json:"oldest"`   // when the oldest unshared record was made; zero when none
}

const (
	shareStateQuery = `SELECT through, (SELECT coalesce(max(seq), 0) FROM records) FROM share_lane WHERE id = 1`
	shareTailQuery  = `SELECT ` + recordColumns + `, upload, coalesce(depends_on, '') FROM records WHERE seq > max(?, (SELECT through FROM share_lane WHERE id = 1)) ORDER BY seq LIMIT ?`
)

// Share reports how far the share lane has gone.
func (j *Journal) Share(ctx context.Context) (ShareState, error) {
	var s ShareState
	err := j.read(ctx, "read the share lane", func(t *tx) error {
		if err := t.QueryRowContext(ctx, shareStateQuery).Scan(&s.Through, &s.Last); err != nil {
			return err
		}
		s.Through = min(s.Through, s.Last)
		s.Unshared = s.Last - s.Through
		if s.Unshared == 0 {
			return nil
		}
		var created string
		if err := t.QueryRowContext(ctx, `SELECT created_at FROM records WHERE seq = ?`, s.Through+1).Scan(&created); err != nil {
			return err
		}
		var err error
		s.Oldest, err = parseTS(created)
		return err
	})
	return s, err
}

// ShareTail returns up to max records of the share lane, oldest first.
func (j *Journal) ShareTail(ctx context.Context, max int) ([]SharedRecord, error) {
	return j.ShareTailAfter(ctx, 0, max)
}

// ShareTailAfter is ShareTail from after seq after, for a sharer that has
// published further than the journal's mark says.
func (j *Journal) ShareTailAfter(ctx context.Context, after int64, max int) ([]SharedRecord, error) {
	if max <= 0 {
		max = 100
	}
	var out []SharedRecord
	err := j.read(ctx, "read the share lane", func(t *tx) error {
		rows, err := t.QueryContext(ctx, shareTailQuery, after, max)
		if err != nil {
			return err
		}
		out, err = appendRows(out[:0], rows, func(s scanner) (SharedRecord, error) {
			var sr SharedRecord
			var upload int
			r, err := scanRecord(scanFunc(func(dest ...any) error {
				return s.Scan(append(dest, &upload, &sr.DependsOn)...)
			}))
			sr.Record, sr.Upload = r, upload == 1
			return sr, err
		})
		return err
	})
	return out, err
}

// scanFunc adapts a function to scanner.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// MarkShared moves the share lane past the records up to seq through: the
// hub has them. The mark never moves back.
func (j *Journal) MarkShared(ctx context.Context, through int64) error {
	return j.write(ctx, "mark records shared", func(t *tx) error {
		_, err := t.ExecContext(ctx, `UPDATE share_lane SET through = max(through, ?) WHERE id = 1`, through)
		return err
	})
}

// Verify recomputes the record's hash: what a receiving counter does
// before it keeps another counter's record.
func (r Record) Verify() error {
	if got := r.computeHash(); got != r.Hash {
		return rx.Errorf(rx.EINVALID, "Record %s of counter %s does not match its hash: it was changed on the way or at its counter. It was not kept.", r.ID, r.Terminal)
	}
	return nil
}

// AddPeer keeps another counter's record in peer_records, read-only, after
// checking its hash, and its place in that counter's chain against the
// neighbours already kept. added is false when the record was here already
// (a redelivery) or is this counter's own. A record whose hash does not
// match, or that contradicts one kept (the same id with another hash, or a
// chain that does not join), is refused with rx.EINVALID and nothing is
// kept.
func (j *Journal) AddPeer(ctx context.Context, sr SharedRecord) (added bool, err error) {
	r := sr.Record
	if err := r.Verify(); err != nil {
		return false, err
	}
	if r.Terminal == j.terminal {
		return false, nil // our own, back from the hub
	}
	rules, _ := json.Marshal(r.Rules)
	err = j.write(ctx, "keep a peer record", func(t *tx) error {
		var hash string
		err := t.QueryRowContext(ctx, `SELECT hash FROM peer_records WHERE id = ?`, r.ID).Scan(&hash)
		switch {
		case err == nil && hash == r.Hash:
			return nil
		case err == nil:
			return rx.Errorf(rx.EINVALID, "Record %s of counter %s differs from the copy kept earlier. It was not kept; run tiski journal verify at counter %s.", r.ID, r.Terminal, r.Terminal)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		var mine int
		if err := t.QueryRowContext(ctx, `SELECT count(*) FROM records WHERE id = ?`, r.ID).Scan(&mine); err != nil {
			return err
		}
		if mine > 0 {
			return nil // ours, made under another terminal name
		}
		if err := chainJoins(ctx, t, r); err != nil {
			return err
		}
		upload := 0
		if sr.Upload {
			upload = 1
		}
		if _, err := t.ExecContext(ctx, `INSERT INTO peer_records (counter, seq, id, kind, time, created_at, pharmacist, terminal, mode, rules,
				refers_to, patient, body, prev_hash, hash, upload, depends_on, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Terminal, r.Seq, r.ID, string(r.Kind), ts(r.Time), ts(r.CreatedAt), r.Pharmacist, r.Terminal, string(r.Mode), string(rules),
			nullable(r.RefersTo), r.Patient, string(r.Body), r.PrevHash, r.Hash, upload, nullable(sr.DependsOn), ts(j.now())); err != nil {
			return err
		}
		// Kela's notices reach every counter this way (issue 22).
		if err := applyPeerNotice(ctx, t, r); err != nil {
			return err
		}
		added = true
		return nil
	})
	return added, err
}

// chainJoins checks r against the records of its counter kept next to it.
func chainJoins(ctx context.Context, t *tx, r Record) error {
	var prev, next string
	err := t.QueryRowContext(ctx, `SELECT hash FROM peer_records WHERE counter = ? AND seq = ?`, r.Terminal, r.Seq-1).Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if err == nil && prev != r.PrevHash {
		return rx.Errorf(rx.EINVALID, "Record %s of counter %s does not follow that counter's record %d kept here. It was not kept; run tiski journal verify at counter %s.", r.ID, r.Terminal, r.Seq-1, r.Terminal)
	}
	err = t.QueryRowContext(ctx, `SELECT prev_hash FROM peer_records WHERE counter = ? AND seq = ?`, r.Terminal, r.Seq+1).Scan(&next)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if err == nil && next != r.Hash {
		return rx.Errorf(rx.EINVALID, "Record %s of counter %s is not the one that counter's record %d follows. It was not kept; run tiski journal verify at counter %s.", r.ID, r.Terminal, r.Seq+1, r.Terminal)
	}
	var dup string
	err = t.QueryRowContext(ctx, `SELECT id FROM peer_records WHERE counter = ? AND seq = ?`, r.Terminal, r.Seq).Scan(&dup)
	if err == nil {
		return rx.Errorf(rx.EINVALID, "Counter %s has two records at position %d (%s and %s). %s was not kept; run tiski journal verify at counter %s.", r.Terminal, r.Seq, dup, r.ID, r.ID, r.Terminal)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return nil
}

// PeerCounter is what this journal holds of another counter.
type PeerCounter struct {
	Counter  string    `json:"counter"`
	Records  int64     `json:"records"`
	LastSeq  int64     `json:"last_seq"`
	Received time.Time `json:"received"` // when the last of its records arrived here
}

// PeerCounters lists the other counters whose records this journal holds.
func (j *Journal) PeerCounters(ctx context.Context) ([]PeerCounter, error) {
	var out []PeerCounter
	err := j.read(ctx, "list peer counters", func(t *tx) error {
		rows, err := t.QueryContext(ctx, `SELECT counter, count(*), max(seq), max(received_at) FROM peer_records GROUP BY counter ORDER BY counter`)
		if err != nil {
			return err
		}
		out, err = appendRows(out[:0], rows, func(s scanner) (PeerCounter, error) {
			var p PeerCounter
			var at string
			if err := s.Scan(&p.Counter, &p.Records, &p.LastSeq, &at); err != nil {
				return p, err
			}
			var err error
			p.Received, err = parseTS(at)
			return p, err
		})
		return err
	})
	return out, err
}

// GetAny returns the record with the id from this journal or, failing
// that, from the peer records; rx.ENOTFOUND when neither has it.
func (j *Journal) GetAny(ctx context.Context, id string) (Record, error) {
	rec, err := j.Get(ctx, id)
	if rx.ErrorCode(err) != rx.ENOTFOUND {
		return rec, err
	}
	err = j.read(ctx, "get record", func(t *tx) error {
		r, err := scanRecord(t.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM peer_records WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return rx.Errorf(rx.ENOTFOUND, "There is no record %s in the journal, nor from the pharmacy's other counters.", id)
		}
		r.Peer = true
		rec = r
		return err
	})
	return rec, err
}

// errNoPeers is returned when a filter asks for peers with paging by seq.
var errNoPeers = fmt.Errorf("list records: paging by sequence number covers this counter's records only")
