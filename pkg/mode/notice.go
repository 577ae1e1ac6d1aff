package mode

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Breaks is offered by a Store that keeps Kela's notices
// (*journal.Journal): a maintenance notice is a planned break, and every
// counter is in FAULT from its start to its end (issue 22).
type Breaks interface {
	// PlannedBreak returns the maintenance notice in force at t; ok is
	// false when none is.
	PlannedBreak(ctx context.Context, at time.Time) (n rx.Notice, ok bool, err error)
}

// BreakCause is the cause of the change into FAULT that planned break n
// makes: what `tiski mode status` and the status line say.
func BreakCause(n rx.Notice) string {
	id := n.ID
	if len(id) > 8 {
		id = id[len(id)-8:] // as journal.ShortID: a UUIDv7 begins with its time
	}
	return fmt.Sprintf("%s%s until %s (Kela's notice %s): %s", BreakPrefix, n.From.Local().Format("2006-01-02 15:04"),
		n.End().Local().Format("2006-01-02 15:04"), id, n.Text)
}

// BreakPrefix begins the cause of every change made by a planned break.
const BreakPrefix = "planned break "

// IsBreak reports whether the mode in force was set by a planned break.
func IsBreak(st rx.ModeState) bool {
	return st.Mode == rx.ModeFault && strings.HasPrefix(st.Cause, BreakPrefix)
}

// ApplyBreak puts the mode in FAULT when a planned break is in force at
// now and the mode is not FAULT yet, without waiting for a probe: any
// process may call it (the counter's machine at every tick, `tiski mode
// status`, `tiski notice add`), and the journal's compare-and-set makes
// one change of it. A person's hold is left as it is. It returns the mode
// in force after, and the break (ok false: none in force).
func ApplyBreak(ctx context.Context, store Store, now time.Time) (st rx.ModeState, n rx.Notice, ok bool, err error) {
	st, err = store.Mode(ctx)
	if err != nil {
		return rx.ModeState{}, rx.Notice{}, false, err
	}
	b, is := store.(Breaks)
	if !is {
		return st, rx.Notice{}, false, nil
	}
	n, ok, err = b.PlannedBreak(ctx, now)
	if err != nil || !ok || st.Mode == rx.ModeFault || st.Override {
		return st, n, ok, err
	}
	after, _, err := store.ChangeMode(ctx, rx.ModeChange{From: st.Mode, To: rx.ModeFault, Cause: BreakCause(n)})
	if err != nil {
		return st, n, ok, fmt.Errorf("planned break: %w", err)
	}
	return after, n, ok, nil
}

// inBreak applies a planned break in force (see ApplyBreak) to the mode
// cur just read, and reports whether one is in force: then no probe and
// no call may bring the counter out of FAULT. Called under decide.
func (m *Machine) inBreak(ctx context.Context, cur rx.ModeState) (rx.ModeState, bool) {
	b, is := m.store.(Breaks)
	if !is {
		return cur, false
	}
	n, ok, err := b.PlannedBreak(ctx, m.cfg.Now())
	if err != nil {
		if ctx.Err() == nil {
			m.storeLog.fail(m, "read planned breaks: "+err.Error())
		}
		return cur, false
	}
	if !ok {
		return cur, false
	}
	if cur.Mode != rx.ModeFault && !cur.Override {
		m.successes = 0
		cur = m.change(ctx, cur.Mode, rx.ModeFault, BreakCause(n))
	}
	return cur, true
}
