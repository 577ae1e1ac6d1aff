package journal

import (
	"context"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

func ids(es []OutboxEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.RecordID)
	}
	return out
}

func TestLeaseDependents(t *testing.T) {
	ctx := context.Background()
	const ttl = time.Minute
	c := newClock()
	j := openTest(t, c)
	paper := mustAppend(t, j, NewRecord{Kind: KindTelephonePrescription, Pharmacist: "anna", Upload: true})
	other := mustAppend(t, j, NewRecord{Kind: KindPaperPrescription, Pharmacist: "anna", Upload: true})
	var deps []string
	for i := range 4 {
		d := dispensing(i)
		d.DependsOn = paper.ID
		if i == 2 {
			mustAppend(t, j, dispensing(50)) // independent, between them
			o := dispensing(51)
			o.DependsOn = other.ID
			mustAppend(t, j, o)
		}
		deps = append(deps, mustAppend(t, j, d).ID)
	}
	if err := j.Park(ctx, deps[3], "set aside by IT"); err != nil {
		t.Fatal(err)
	}
	deps = deps[:3] // a parked dependent is not leased

	leaseDeps := func(owner string) ([]string, error) {
		es, err := j.LeaseDependents(ctx, owner, paper.ID, ttl)
		for _, e := range es {
			if e.State != OutboxSending || e.LeaseOwner != owner || e.DependsOn != paper.ID || !e.LeaseExpires.Equal(c.Now().Add(ttl)) {
				t.Errorf("leased dependent %+v", e)
			}
		}
		return ids(es), err
	}
	for _, tt := range []struct {
		name string
		prep func()
	}{
		{"prescription not leased", func() {}},
		{"prescription leased to another", func() {
			if got := leaseIDs(t, j, "w2", 1, ttl); len(got) != 1 || got[0] != paper.ID {
				t.Fatalf("leased %v", got)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.prep()
			_, err := leaseDeps("w1")
			wantCode(t, err, rx.ECONFLICT)
		})
	}
	// w2 holds the prescription now.
	got, err := leaseDeps("w2")
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "dependents in order", got, deps...)
	got, err = leaseDeps("w2")
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "leased already", got)

	// The upstream transaction failed: the dispensings go back to retry,
	// due in an hour, and the prescription due now. They are leased with
	// their prescription all the same: LeaseDependents does not wait for
	// next_attempt.
	if err := j.RetryAll(ctx, "w2", deps, c.Now().Add(time.Hour), "503"); err != nil {
		t.Fatal(err)
	}
	if err := j.RetryAll(ctx, "w2", []string{paper.ID}, c.Now(), "503"); err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "the prescription is due again", leaseIDs(t, j, "w2", 1, ttl), paper.ID)
	got, err = leaseDeps("w2")
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "retry dependents", got, deps...)
	for _, id := range deps {
		if e, _ := j.Outbox(ctx, id); e.Attempts != 2 {
			t.Errorf("%s attempts %d, want 2", id, e.Attempts)
		}
	}

	// The sender dies; another takes over the prescription after the
	// leases run out, and with it the dependents.
	c.Add(ttl)
	_, err = leaseDeps("w2")
	wantCode(t, err, rx.ECONFLICT) // its lease expired
	sameIDs(t, "taken over", leaseIDs(t, j, "w3", 1, ttl), paper.ID)
	got, err = leaseDeps("w3")
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "expired dependents taken over", got, deps...)

	done := []Completion{{paper.ID, "MedicationRequest/9"}}
	for i, id := range deps {
		done = append(done, Completion{id, "MedicationDispense/" + string(rune('a'+i))})
	}
	if err := j.CompleteAll(ctx, "w3", done); err != nil {
		t.Fatal(err)
	}
	for _, d := range done {
		if e, _ := j.Outbox(ctx, d.ID); e.State != OutboxDone || e.UpstreamID != d.UpstreamID {
			t.Errorf("completed entry %+v", e)
		}
	}
	checkCounts(t, j)
}

func TestCompleteAllIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	j := openTest(t, c)
	var mine []string
	for i := range 3 {
		mine = append(mine, mustAppend(t, j, dispensing(i)).ID)
	}
	theirs := mustAppend(t, j, dispensing(9)).ID
	unleased := mustAppend(t, j, dispensing(10)).ID
	sameIDs(t, "w1", leaseIDs(t, j, "w1", 3, time.Minute), mine...)
	sameIDs(t, "w2", leaseIDs(t, j, "w2", 1, time.Minute), theirs)
	all := func(extra ...string) []Completion {
		var cs []Completion
		for _, id := range append(append([]string{}, mine...), extra...) {
			cs = append(cs, Completion{ID: id, UpstreamID: "up-" + id})
		}
		return cs
	}
	for _, tt := range []struct {
		name string
		done []Completion
		code string
	}{
		{"one leased to another", all(theirs), rx.ECONFLICT},
		{"one not leased", all(unleased), rx.ECONFLICT},
		{"one twice", all(mine[0]), rx.ECONFLICT},
		{"one unknown", all("0190f0f0-0000-7000-8000-000000000000"), rx.ENOTFOUND},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, j.CompleteAll(ctx, "w1", tt.done), tt.code)
			cnt, err := j.Counts(ctx)
			if err != nil || cnt.Done != 0 || cnt.Sending != 4 {
				t.Errorf("after a refused CompleteAll: %+v, %v", cnt, err)
			}
			for _, id := range mine {
				if e, _ := j.Outbox(ctx, id); e.State != OutboxSending || e.LeaseOwner != "w1" {
					t.Errorf("entry %s changed: %+v", id, e)
				}
			}
		})
	}
	if err := j.CompleteAll(ctx, "w1", nil); err != nil {
		t.Errorf("CompleteAll of nothing: %v", err)
	}
	wantCode(t, j.RetryAll(ctx, "w1", []string{mine[0], theirs}, c.Now(), "503"), rx.ECONFLICT)
	if e, _ := j.Outbox(ctx, mine[0]); e.State != OutboxSending {
		t.Errorf("a refused RetryAll changed %+v", e)
	}
	if err := j.CompleteAll(ctx, "w1", all()); err != nil {
		t.Fatal(err)
	}
	cnt, err := j.Counts(ctx)
	if err != nil || cnt.Done != 3 || cnt.Sending != 1 || cnt.Pending != 1 || !cnt.LastDone.Equal(c.Now()) {
		t.Errorf("Counts = %+v, %v", cnt, err)
	}
	checkCounts(t, j)
}

func TestLeaseDependentsInvalid(t *testing.T) {
	j := openTest(t, nil)
	ctx := context.Background()
	_, err := j.LeaseDependents(ctx, "", "x", time.Minute)
	wantCode(t, err, rx.EINVALID)
	_, err = j.LeaseDependents(ctx, "w", "x", 0)
	wantCode(t, err, rx.EINVALID)
	_, err = j.LeaseDependents(ctx, "w", "0190f0f0-0000-7000-8000-000000000000", time.Minute)
	wantCode(t, err, rx.ENOTFOUND)
}
