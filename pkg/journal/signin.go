package journal

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// signInSchema is the schema that counts failed sign-ins (migration 0006).
const signInSchema = 6

// SignInCount is the failed sign-ins in a row of one id tried, a user's or
// not (the journal does not say which).
type SignInCount struct {
	UserID   string    `json:"user_id"`
	Failures int       `json:"failures"`  // in a row; an admitted attempt counts until it succeeds
	LastAt   time.Time `json:"last_at"`   // when the last attempt was admitted; zero: none
	LockedAt time.Time `json:"locked_at"` // zero: not locked
}

// Locked reports whether the id is locked until IT unlocks it.
func (c SignInCount) Locked() bool { return !c.LockedAt.IsZero() }

// Sign-in audit events, the "event" of a signin record's body.
const (
	SignInFailedEvent   = "failed"   // a wrong PIN, or an id that is no user
	SignInLockedEvent   = "locked"   // the failures reached the limit
	SignInUnlockedEvent = "unlocked" // IT cleared the count (tiski users unlock)
)

// SignInAudit is the body of a signin record. It names the id tried, never
// the PIN.
type SignInAudit struct {
	Event    string `json:"event"`
	User     string `json:"user"`
	Failures int    `json:"failures"`
	By       string `json:"by,omitempty"` // who unlocked
}

const signInQuery = `SELECT user_id, failures, last_at, locked_at FROM signin_failures WHERE user_id = ?`

func scanSignIn(s scanner) (SignInCount, error) {
	var c SignInCount
	var last, locked string
	if err := s.Scan(&c.UserID, &c.Failures, &last, &locked); err != nil {
		return SignInCount{}, err
	}
	var err error
	if c.LastAt, err = parseTS(last); err != nil {
		return SignInCount{}, err
	}
	c.LockedAt, err = parseTS(locked)
	return c, err
}

// signInCount reads the count of id; a zero count (with UserID set) when
// there is none.
func signInCount(ctx context.Context, t *tx, id string) (SignInCount, error) {
	c, err := scanSignIn(t.QueryRowContext(ctx, signInQuery, id))
	if errors.Is(err, sql.ErrNoRows) {
		return SignInCount{UserID: id}, nil
	}
	return c, err
}

// SignInCount returns the failed sign-ins in a row of id.
func (j *Journal) SignInCount(ctx context.Context, id string) (SignInCount, error) {
	var c SignInCount
	err := j.read(ctx, "read sign-in failures", func(t *tx) error {
		var err error
		c, err = signInCount(ctx, t, id)
		return err
	})
	return c, err
}

// AdmitSignIn decides, in one IMMEDIATE transaction, whether a sign-in
// attempt for id may have its PIN checked, and counts it as a failure
// until SignInSucceeded says otherwise. admit is given the count so far and
// the journal's time; when it returns an error nothing is written and
// AdmitSignIn returns that error. Counting before the check means that
// attempts made at the same moment, from two terminals or scripts in
// parallel, are each counted and each see the ones before: none slips in
// between another's check and its failure. It returns the count with this
// attempt.
func (j *Journal) AdmitSignIn(ctx context.Context, id string, admit func(c SignInCount, now time.Time) error) (SignInCount, error) {
	var c SignInCount
	err := j.write(ctx, "admit sign-in", func(t *tx) error {
		var err error
		if c, err = signInCount(ctx, t, id); err != nil {
			return err
		}
		if err := admit(c, t.now); err != nil {
			return err
		}
		c.Failures++
		c.LastAt = roundTrip(t.now)
		_, err = t.ExecContext(ctx, `INSERT INTO signin_failures (user_id, failures, last_at) VALUES (?, 1, ?)
			ON CONFLICT (user_id) DO UPDATE SET failures = failures + 1, last_at = excluded.last_at`, id, ts(t.now))
		return err
	})
	return c, err
}

// SignInFailed records that an admitted attempt for id failed: a signin
// audit record, and when the failures in a row have reached lockAt, the
// lock and a record of it. It returns the count.
func (j *Journal) SignInFailed(ctx context.Context, id string, lockAt int) (SignInCount, error) {
	var c SignInCount
	err := j.write(ctx, "record failed sign-in", func(t *tx) error {
		var err error
		if c, err = signInCount(ctx, t, id); err != nil {
			return err
		}
		if c.Failures == 0 {
			// Not admitted, or unlocked since: count it now.
			c.Failures, c.LastAt = 1, roundTrip(t.now)
			if _, err := t.ExecContext(ctx, `INSERT INTO signin_failures (user_id, failures, last_at) VALUES (?, 1, ?)`, id, ts(t.now)); err != nil {
				return err
			}
		}
		if err := j.appendSignIn(ctx, t, "", SignInAudit{Event: SignInFailedEvent, User: id, Failures: c.Failures}); err != nil {
			return err
		}
		if c.Failures < lockAt || c.Locked() {
			return nil
		}
		c.LockedAt = roundTrip(t.now)
		if _, err := t.ExecContext(ctx, `UPDATE signin_failures SET locked_at = ? WHERE user_id = ?`, ts(t.now), id); err != nil {
			return err
		}
		return j.appendSignIn(ctx, t, "", SignInAudit{Event: SignInLockedEvent, User: id, Failures: c.Failures})
	})
	return c, err
}

// SignInSucceeded clears the count of id after its PIN was right. When the
// id was locked meanwhile (another attempt's failure reached the limit while
// this PIN was checked), nothing changes and the locked count is returned
// with ok false: the sign-in must be refused.
func (j *Journal) SignInSucceeded(ctx context.Context, id string) (c SignInCount, ok bool, err error) {
	err = j.write(ctx, "record sign-in", func(t *tx) error {
		if c, err = signInCount(ctx, t, id); err != nil {
			return err
		}
		if c.Locked() {
			return nil
		}
		ok = true
		_, err := t.ExecContext(ctx, `DELETE FROM signin_failures WHERE user_id = ?`, id)
		return err
	})
	return c, ok, err
}

// UnlockUser clears the failed sign-ins of id, locked or not, and records
// the unlock, naming by, the person who did it. It returns the count it
// cleared (zero Failures: there was none, and nothing is recorded).
// rx.ENOTFOUND when id is neither a user nor an id with failures.
func (j *Journal) UnlockUser(ctx context.Context, id, by string) (SignInCount, error) {
	if by == "" {
		return SignInCount{}, rx.Errorf(rx.EINVALID, "Name the person unlocking the user.")
	}
	var c SignInCount
	err := j.write(ctx, "unlock user", func(t *tx) error {
		var err error
		if c, err = signInCount(ctx, t, id); err != nil {
			return err
		}
		if c.Failures == 0 {
			var n int
			if err := t.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = ?`, id).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return rx.Errorf(rx.ENOTFOUND, "There is no user %s, and no failed sign-ins under that id.", id)
			}
			return nil
		}
		if _, err := t.ExecContext(ctx, `DELETE FROM signin_failures WHERE user_id = ?`, id); err != nil {
			return err
		}
		return j.appendSignIn(ctx, t, by, SignInAudit{Event: SignInUnlockedEvent, User: id, Failures: c.Failures, By: by})
	})
	return c, err
}

// appendSignIn appends a signin audit record. It is never uploaded: the
// Prescription Centre has no use for it, and the journal's hash chain is
// the pharmacy's own audit trail.
func (j *Journal) appendSignIn(ctx context.Context, t *tx, by string, a SignInAudit) error {
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = j.appendRecord(ctx, t, NewRecord{Kind: KindSignIn, Pharmacist: by, Body: body})
	return err
}
