package mode

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// The mode races (issue 18): the probe decides a change from the mode it
// read, and a pharmacist's override (tiski mode fault|auto, the counter's
// F6) may land between that read and the probe's write. The journal's
// ChangeMode is compare-and-set on the mode the caller read, so a decision
// made on a mode no longer in force is refused, not written.

// openJournal opens a handle on the journal file at path, as a process
// would; each handle has its own connections.
func openJournal(t *testing.T, path string) *journal.Journal {
	t.Helper()
	j, err := journal.Open(t.Context(), path, journal.Options{Terminal: "race"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// interleaving is a Store that, before the first automatic change it
// forwards, lets another process run: the moment between the probe's read
// and its write.
type interleaving struct {
	Store
	once    sync.Once
	between func()
}

func (s *interleaving) ChangeMode(ctx context.Context, c rx.ModeChange) (rx.ModeState, bool, error) {
	if !c.Manual {
		s.once.Do(s.between)
	}
	return s.Store.ChangeMode(ctx, c)
}

// TestStaleProbeCannotUndoAnOverride: the probe, in RECOVERING, decides
// ONLINE; before it writes, a pharmacist forces FAULT and returns the
// counter to automatic, which leaves it in FAULT. The probe's decision was
// made on RECOVERING and must not turn that FAULT into ONLINE.
func TestStaleProbeCannotUndoAnOverride(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "journal.db")
	counter, it := openJournal(t, path), openJournal(t, path)
	// The probe's machine took the counter through FAULT to RECOVERING.
	m := New(counter, nil, Config{RecoverAfter: 2})
	m.observe(ctx, "probe", failed, "connection refused")
	m.observe(ctx, "probe", answered, "")
	if st := m.State(); st.Mode != rx.ModeRecovering {
		t.Fatalf("setup: mode %+v, want RECOVERING", st)
	}
	m.store = &interleaving{Store: counter, between: func() {
		if _, err := Force(ctx, it, "Kela notice", "it-1"); err != nil {
			t.Error(err)
		}
		if _, err := Auto(ctx, it, "it-1"); err != nil {
			t.Error(err)
		}
	}}
	m.observe(ctx, "probe", answered, "") // the second answer in a row: ONLINE, decided on RECOVERING

	st, err := it.Mode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != rx.ModeFault || st.Override {
		t.Errorf("mode after the override and its release: %+v; want FAULT, automatic", st)
	}
	if got := m.State(); got.Mode != st.Mode || got.Seq != st.Seq {
		t.Errorf("the machine shows %+v, the journal holds %+v", got, st)
	}
	checkChanges(t, changes(t, it))
}

// allowedAuto are the changes the probes and the calls may make by
// themselves (DESIGN §4): into FAULT on a failure, to RECOVERING when the
// service answers again, to ONLINE after answers in a row.
var allowedAuto = map[[2]rx.Mode]bool{
	{rx.ModeOnline, rx.ModeFault}:      true,
	{rx.ModeRecovering, rx.ModeFault}:  true,
	{rx.ModeFault, rx.ModeRecovering}:  true,
	{rx.ModeRecovering, rx.ModeOnline}: true,
}

// checkChanges checks the journal's sequence of mode changes: each leaves
// the mode the one before entered; an automatic change is one the probes may
// make and never lands while an override holds; a manual one forces FAULT
// or releases an override where it stands.
func checkChanges(t *testing.T, cs []change) {
	t.Helper()
	prev := change{To: rx.ModeOnline}
	for i, c := range cs {
		where := fmt.Sprintf("change %d (%+v, after %+v)", i+1, c, prev)
		switch {
		case c.From != prev.To:
			t.Errorf("%s: leaves %s, but %s was in force", where, c.From, prev.To)
		case !c.Manual && prev.Override:
			t.Errorf("%s: an automatic change overwrote an override", where)
		case !c.Manual && !allowedAuto[[2]rx.Mode{c.From, c.To}]:
			t.Errorf("%s: an automatic change the probes never decide: %s -> %s", where, c.From, c.To)
		case c.Manual && c.Override && c.To != rx.ModeFault:
			t.Errorf("%s: an override into %s", where, c.To)
		case c.Manual && !c.Override && (c.To != c.From || !prev.Override):
			t.Errorf("%s: a release that is not one", where)
		}
		prev = c
	}
}

// TestProbeAndOverrideRace runs the probes' and the calls' transitions of
// three machines, each on its own handle of one journal file as three
// processes would have, against pharmacists forcing FAULT and returning to
// automatic from a goroutine on each handle. Whatever the
// interleaving, the journal's sequence of changes must be one the machine
// and the pharmacists could have made in turn, and every process must end
// on the mode the last change entered.
func TestProbeAndOverrideRace(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "journal.db")
	handles := []*journal.Journal{openJournal(t, path), openJournal(t, path), openJournal(t, path)}
	var machines []*Machine
	for _, j := range handles {
		machines = append(machines, New(j, nil, Config{RecoverAfter: 2}))
	}

	// The machines decide until the pharmacists are done, at most
	// maxRounds times each; each pharmacist forces FAULT and returns to
	// automatic overrides times, so the override comes and goes while the
	// probes decide.
	const maxRounds, overrides = 2000, 25
	var wg, people sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 16)
	for i, m := range machines {
		// Two goroutines per machine: the probe loop and the real calls
		// (Report), as the counter has.
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(i), uint64(g)))
				for range maxRounds {
					select {
					case <-done:
						return
					default:
					}
					fail := r.IntN(2) == 0
					if g == 0 {
						v := answered
						if fail {
							v = failed
						}
						m.observe(ctx, "probe", v, "race")
					} else if fail {
						m.Report(errors.New("dial tcp 127.0.0.1:1: connect: connection refused"))
					} else {
						m.Report(nil)
					}
				}
			}()
		}
	}
	for p, j := range handles {
		people.Add(1)
		go func() {
			defer people.Done()
			who := fmt.Sprintf("it-%d", p)
			for range overrides {
				if _, err := Force(ctx, j, "race", who); err != nil {
					errs <- err
					return
				}
				if _, err := Auto(ctx, j, who); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	people.Wait()
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	cs := changes(t, handles[2])
	if len(cs) < 10 {
		t.Fatalf("only %d mode changes: the race did not run", len(cs))
	}
	checkChanges(t, cs)
	last := cs[len(cs)-1]
	for i, j := range handles {
		st, err := j.Mode(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode != last.To || st.Override != last.Override {
			t.Errorf("handle %d reads %+v; the last change entered %s (override %v)", i, st, last.To, last.Override)
		}
	}
	for i, m := range machines {
		m.refresh(ctx)
		if st := m.State(); st.Mode != last.To {
			t.Errorf("machine %d shows %+v after a refresh; the last change entered %s", i, st, last.To)
		}
	}
	t.Logf("%d mode changes", len(cs))
}
