package upload

import (
	"errors"
	"testing"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/tui/common"
)

func TestOutcome(t *testing.T) {
	e := func(s journal.OutboxState) journal.OutboxEntry { return journal.OutboxEntry{State: s} }
	for _, tc := range []struct {
		name string
		es   []journal.OutboxEntry
		want State
	}{
		{"none read yet", nil, Local},
		{"pending", []journal.OutboxEntry{e(journal.OutboxPending)}, Local},
		{"prescription done, dispensing retrying", []journal.OutboxEntry{e(journal.OutboxDone), e(journal.OutboxRetry)}, Local},
		{"both done", []journal.OutboxEntry{e(journal.OutboxDone), e(journal.OutboxDone)}, Centre},
		{"dispensing rejected", []journal.OutboxEntry{e(journal.OutboxDone), e(journal.OutboxRejected)}, Refused},
		{"prescription in conflict", []journal.OutboxEntry{e(journal.OutboxConflict), e(journal.OutboxPending)}, Refused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Outcome(tc.es); got != tc.want {
				t.Fatalf("Outcome = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestFollow(t *testing.T) {
	var c common.Common
	f, cmd := Start("p1", "d1")
	if cmd == nil {
		t.Fatal("Start does not poll")
	}
	if _, st, cmd := f.Update(c, Local, PollMsg{Key: "p1"}); st != Local || cmd == nil {
		t.Fatalf("a poll: state %d, read %v", st, cmd != nil)
	}
	for _, stray := range []any{PollMsg{Key: "d1"}, StateMsg{Key: "other", Entries: []journal.OutboxEntry{{State: journal.OutboxConflict}}}, "other"} {
		if g, st, cmd := f.Update(c, Local, stray); st != Local || cmd != nil || g.Entries() != nil {
			t.Fatalf("%#v: state %d, command %v", stray, st, cmd != nil)
		}
	}
	f, st, cmd := f.Update(c, Local, StateMsg{Key: "p1", Err: errors.New("journal closed")})
	if st != Local || cmd == nil || f.Err() == nil {
		t.Fatalf("a failed read: state %d, poll %v, err %v", st, cmd != nil, f.Err())
	}
	es := []journal.OutboxEntry{{State: journal.OutboxDone}, {State: journal.OutboxRetry}}
	if f, st, cmd = f.Update(c, Local, StateMsg{Key: "p1", Entries: es}); st != Local || cmd == nil || f.Err() != nil || len(f.Entries()) != 2 {
		t.Fatalf("one waiting: state %d, poll %v, err %v", st, cmd != nil, f.Err())
	}
	es = []journal.OutboxEntry{{State: journal.OutboxDone}, {State: journal.OutboxDone}}
	if _, st, cmd = f.Update(c, Local, StateMsg{Key: "p1", Entries: es}); st != Centre || cmd != nil {
		t.Fatalf("both done: state %d, poll %v", st, cmd != nil)
	}
	if _, st, cmd := (Follow{}).Update(c, Local, PollMsg{}); st != Local || cmd != nil {
		t.Fatalf("the zero Follow: state %d, command %v", st, cmd != nil)
	}
	if _, st, cmd := f.Update(c, Refused, PollMsg{Key: "p1"}); st != Refused || cmd != nil {
		t.Fatalf("a screen no longer waiting: state %d, command %v", st, cmd != nil)
	}
}
