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

// modeChangeBody is the body of a mode_change record.
type modeChangeBody struct {
	From     rx.Mode `json:"from"`
	To       rx.Mode `json:"to"`
	Override bool    `json:"override"`
	Manual   bool    `json:"manual"`
	Cause    string  `json:"cause"`
	By       string  `json:"by,omitempty"`
}

// Mode returns the mode in force: the last mode change in the journal, or
// ONLINE with Seq 0 when the mode never changed.
func (j *Journal) Mode(ctx context.Context) (rx.ModeState, error) {
	var st rx.ModeState
	err := j.read(ctx, "read mode", func(t *tx) error {
		var err error
		st, err = modeState(ctx, t)
		return err
	})
	return st, err
}

// The mode queries read the mode changes through the partial index
// records_kind, which "kind <> 'dispensing'" lets SQLite use: every append
// reads the mode, so a scan of the records here would cost each append the
// whole journal.
const (
	modeQuery = `SELECT seq, time, body FROM records WHERE kind = 'mode_change' AND kind <> 'dispensing'
		ORDER BY seq DESC LIMIT 1`
	// faultPeriodsQuery starts from the last change before ?1: it gives
	// the mode in force at ?1.
	faultPeriodsQuery = `SELECT seq, time, body FROM records WHERE kind = 'mode_change' AND kind <> 'dispensing' AND seq >= coalesce(
			(SELECT max(seq) FROM records WHERE kind = 'mode_change' AND kind <> 'dispensing' AND time < ?1), 0)
		ORDER BY seq`
)

func modeState(ctx context.Context, t *tx) (rx.ModeState, error) {
	var seq int64
	var tm, body string
	err := t.QueryRowContext(ctx, modeQuery).Scan(&seq, &tm, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return rx.ModeState{Mode: rx.ModeOnline}, nil
	} else if err != nil {
		return rx.ModeState{}, err
	}
	return modeStateOf(seq, tm, body)
}

func modeStateOf(seq int64, tm, body string) (rx.ModeState, error) {
	var b modeChangeBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		return rx.ModeState{}, fmt.Errorf("mode change record %d: %w", seq, err)
	}
	since, err := parseTS(tm)
	if err != nil {
		return rx.ModeState{}, err
	}
	return rx.ModeState{Mode: b.To, Override: b.Override, Cause: b.Cause, Since: since, Seq: seq}, nil
}

// ChangeMode applies a requested mode change in one IMMEDIATE transaction,
// so concurrent processes decide on the same state. It is compare-and-set
// on the mode:
//   - a change whose From is not the mode in force is refused: its maker
//     decided on a mode that has changed since it read it (a probe's result
//     landing after a pharmacist's override and its release, or after
//     another process's change); a manual change may leave From empty to
//     take whatever mode is in force, and a release may leave To empty to
//     keep it;
//   - an automatic change (c.Manual false) is ignored while a manual
//     override holds;
//   - a change that leaves the mode and the override as they are writes
//     nothing;
//   - otherwise a mode_change record naming the cause is appended.
//
// Only a manual change can set an override; a manual change without
// Override clears one (tiski mode auto). It returns the state in force
// afterwards and whether it changed; when it did not, the state tells the
// caller why (st.Mode != c.From: refused), and a caller whose intent does
// not depend on the old mode may try again from st.Mode.
func (j *Journal) ChangeMode(ctx context.Context, c rx.ModeChange) (rx.ModeState, bool, error) {
	// A person's change (tiski mode fault|auto) holds whatever mode it
	// finds: it may leave From empty, and a release may leave To empty to
	// keep the mode. The read and the write share one transaction, so the
	// record still names the mode it really left.
	anyFrom := c.Manual && c.From == ""
	keepTo := c.Manual && !c.Override && c.To == ""
	if !keepTo && !c.To.Valid() {
		return rx.ModeState{}, false, rx.Errorf(rx.EINVALID, "Unknown mode %q.", c.To)
	}
	if !anyFrom && !c.From.Valid() {
		return rx.ModeState{}, false, rx.Errorf(rx.EINVALID, "A mode change must name the mode it expects to leave (not %q).", c.From)
	}
	if c.Cause == "" {
		return rx.ModeState{}, false, rx.Errorf(rx.EINVALID, "A mode change must name its cause.")
	}
	var st rx.ModeState
	var changed bool
	err := j.writeRecords(ctx, "change mode", func(t *tx) error {
		cur, err := modeState(ctx, t)
		if err != nil {
			return err
		}
		st = cur
		override := c.Manual && c.Override
		if anyFrom {
			c.From = cur.Mode
		}
		if keepTo {
			c.To = cur.Mode
		}
		if cur.Mode != c.From || (!c.Manual && cur.Override) || (cur.Mode == c.To && cur.Override == override) {
			return nil
		}
		body, err := json.Marshal(modeChangeBody{From: cur.Mode, To: c.To, Override: override, Manual: c.Manual, Cause: c.Cause, By: c.By})
		if err != nil {
			return err
		}
		rec, err := j.appendRecord(ctx, t, NewRecord{Kind: KindModeChange, Pharmacist: c.By, Body: body})
		if err != nil {
			return err
		}
		st = rx.ModeState{Mode: c.To, Override: override, Cause: c.Cause, Since: rec.Time, Seq: rec.Seq}
		changed = true
		return nil
	})
	if err != nil {
		return rx.ModeState{}, false, err
	}
	return st, changed, nil
}

// FaultPeriod is a stretch of time the counter was in FAULT mode: the
// pharmacy's own fault, during which essential medication may be dispensed.
type FaultPeriod struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`   // zero: ongoing
	Cause string    `json:"cause"` // the cause of the change into FAULT
	Seq   int64     `json:"seq"`   // the mode_change record that began it
}

// Contains reports whether t falls in the period.
func (p FaultPeriod) Contains(t time.Time) bool {
	return !t.Before(p.Start) && (p.End.IsZero() || t.Before(p.End))
}

// FaultPeriods returns the fault periods that ended at or after since, or are
// ongoing, oldest first, for back-entering essential dispensings.
func (j *Journal) FaultPeriods(ctx context.Context, since time.Time) ([]FaultPeriod, error) {
	var periods []FaultPeriod
	err := j.read(ctx, "list fault periods", func(t *tx) error {
		rows, err := t.QueryContext(ctx, faultPeriodsQuery, ts(since))
		if err != nil {
			return err
		}
		defer rows.Close()
		var open *FaultPeriod
		for rows.Next() {
			var seq int64
			var tm, body string
			if err := rows.Scan(&seq, &tm, &body); err != nil {
				return err
			}
			st, err := modeStateOf(seq, tm, body)
			if err != nil {
				return err
			}
			switch {
			case st.Mode == rx.ModeFault && open == nil:
				open = &FaultPeriod{Start: st.Since, Cause: st.Cause, Seq: seq}
			case st.Mode != rx.ModeFault && open != nil:
				open.End = st.Since
				if !open.End.Before(since) {
					periods = append(periods, *open)
				}
				open = nil
			}
		}
		if open != nil {
			periods = append(periods, *open)
		}
		return rows.Err()
	})
	return periods, err
}

// ModeChangeEntry is one mode change as the journal holds it, for a
// history: the fault report's timeline and actions (issue 22).
type ModeChangeEntry struct {
	rx.ModeState
	From   rx.Mode `json:"from"`
	Manual bool    `json:"manual"`       // made by a person (tiski mode fault|auto, the counter's key)
	By     string  `json:"by,omitempty"` // the person, for a manual change
}

// ModeChanges returns this counter's mode changes from the one in force at
// since onwards, oldest first: the first entry says how the counter stood
// at since (zero Seq: it never changed before).
func (j *Journal) ModeChanges(ctx context.Context, since time.Time) ([]ModeChangeEntry, error) {
	var out []ModeChangeEntry
	err := j.read(ctx, "list mode changes", func(t *tx) error {
		rows, err := t.QueryContext(ctx, faultPeriodsQuery, ts(since))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var seq int64
			var tm, body string
			if err := rows.Scan(&seq, &tm, &body); err != nil {
				return err
			}
			st, err := modeStateOf(seq, tm, body)
			if err != nil {
				return err
			}
			var b modeChangeBody
			_ = json.Unmarshal([]byte(body), &b) // modeStateOf has read it
			out = append(out, ModeChangeEntry{ModeState: st, From: b.From, Manual: b.Manual, By: b.By})
		}
		return rows.Err()
	})
	return out, err
}
