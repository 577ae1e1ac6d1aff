package journal

import (
	"context"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

func leaseIDs(t *testing.T, j *Journal, owner string, max int, ttl time.Duration) []string {
	t.Helper()
	es, err := j.Lease(context.Background(), owner, max, ttl)
	if err != nil {
		t.Fatalf("Lease(%s): %v", owner, err)
	}
	var ids []string
	for _, e := range es {
		if e.State != OutboxSending || e.LeaseOwner != owner {
			t.Errorf("leased entry %+v", e)
		}
		ids = append(ids, e.RecordID)
	}
	return ids
}

func sameIDs(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: got %v, want %v", what, got, want)
		}
	}
}

func TestOutboxTransitions(t *testing.T) {
	ctx := context.Background()
	const ttl = time.Minute
	tests := []struct {
		name   string
		settle func(j *Journal, id, owner string) error
		state  OutboxState
		check  func(t *testing.T, e OutboxEntry)
	}{
		{"complete", func(j *Journal, id, owner string) error { return j.Complete(ctx, id, owner, "MedicationDispense/42") }, OutboxDone,
			func(t *testing.T, e OutboxEntry) {
				if e.UpstreamID != "MedicationDispense/42" {
					t.Errorf("upstream id %q", e.UpstreamID)
				}
			}},
		{"retry", func(j *Journal, id, owner string) error {
			return j.Retry(ctx, id, owner, newClock().Now().Add(5*time.Minute), "503 Service Unavailable")
		}, OutboxRetry,
			func(t *testing.T, e OutboxEntry) {
				if e.LastError != "503 Service Unavailable" || !e.NextAttempt.Equal(newClock().Now().Add(5*time.Minute)) {
					t.Errorf("retry entry %+v", e)
				}
			}},
		{"conflict", func(j *Journal, id, owner string) error {
			return j.Conflict(ctx, id, owner, "dispensed at another pharmacy")
		}, OutboxConflict,
			func(t *testing.T, e OutboxEntry) {
				if e.Conflict != "dispensed at another pharmacy" {
					t.Errorf("conflict %q", e.Conflict)
				}
			}},
		{"reject", func(j *Journal, id, owner string) error { return j.Reject(ctx, id, owner, "422 prescription expired") }, OutboxRejected,
			func(t *testing.T, e OutboxEntry) {
				if e.LastError != "422 prescription expired" {
					t.Errorf("last error %q", e.LastError)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			j := openTest(t, c)
			rec := mustAppend(t, j, dispensing(1))
			e, err := j.Outbox(ctx, rec.ID)
			if err != nil || e.State != OutboxPending || e.Attempts != 0 || e.Seq != rec.Seq || e.Kind != KindDispensing {
				t.Fatalf("new entry %+v, %v", e, err)
			}
			sameIDs(t, "lease", leaseIDs(t, j, "w1", 10, ttl), rec.ID)
			sameIDs(t, "second lease", leaseIDs(t, j, "w2", 10, ttl))
			wantCode(t, tt.settle(j, rec.ID, "w2"), rx.ECONFLICT) // not the owner
			if err := tt.settle(j, rec.ID, "w1"); err != nil {
				t.Fatal(err)
			}
			e, err = j.Outbox(ctx, rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if e.State != tt.state || e.LeaseOwner != "" || !e.LeaseExpires.IsZero() || e.Attempts != 1 || !e.LastAttempt.Equal(c.Now()) {
				t.Errorf("settled entry %+v", e)
			}
			tt.check(t, e)
			wantCode(t, tt.settle(j, rec.ID, "w1"), rx.ECONFLICT) // settled already
		})
	}
}

func TestOutboxRetryBecomesDue(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	j := openTest(t, c)
	rec := mustAppend(t, j, dispensing(1))
	leaseIDs(t, j, "w1", 1, time.Minute)
	if err := j.Retry(ctx, rec.ID, "w1", c.Now().Add(10*time.Second), "timeout"); err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "before next attempt", leaseIDs(t, j, "w1", 1, time.Minute))
	c.Add(10 * time.Second)
	sameIDs(t, "at next attempt", leaseIDs(t, j, "w1", 1, time.Minute), rec.ID)
	e, _ := j.Outbox(ctx, rec.ID)
	if e.Attempts != 2 {
		t.Errorf("attempts %d, want 2", e.Attempts)
	}
}

func TestOutboxLeaseExpiry(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	j := openTest(t, c)
	rec := mustAppend(t, j, dispensing(1))
	sameIDs(t, "first lease", leaseIDs(t, j, "crashed", 1, time.Minute), rec.ID)
	c.Add(59 * time.Second)
	sameIDs(t, "lease still live", leaseIDs(t, j, "w2", 1, time.Minute))
	c.Add(time.Second)
	sameIDs(t, "expired lease taken over", leaseIDs(t, j, "w2", 1, time.Minute), rec.ID)
	// The crashed holder comes back: it may not clobber the new holder.
	wantCode(t, j.Complete(ctx, rec.ID, "crashed", "x"), rx.ECONFLICT)
	wantCode(t, j.Retry(ctx, rec.ID, "crashed", c.Now(), "x"), rx.ECONFLICT)
	if err := j.Complete(ctx, rec.ID, "w2", "MedicationDispense/7"); err != nil {
		t.Fatal(err)
	}
	e, _ := j.Outbox(ctx, rec.ID)
	if e.State != OutboxDone || e.Attempts != 2 || e.UpstreamID != "MedicationDispense/7" {
		t.Errorf("entry %+v", e)
	}
}

func TestOutboxOrderAndDependsOn(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	j := openTest(t, c)
	paper := mustAppend(t, j, NewRecord{Kind: KindPaperPrescription, Pharmacist: "anna", Upload: true})
	disp := dispensing(1)
	disp.DependsOn = paper.ID
	d := mustAppend(t, j, disp)
	other := mustAppend(t, j, dispensing(2))
	e, _ := j.Outbox(ctx, d.ID)
	if e.DependsOn != paper.ID {
		t.Errorf("depends on %q", e.DependsOn)
	}
	// The dispensing waits for its prescription; the independent record does not.
	sameIDs(t, "first lease", leaseIDs(t, j, "w1", 10, time.Minute), paper.ID, other.ID)
	if err := j.Retry(ctx, paper.ID, "w1", c.Now(), "503"); err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "prescription retried, dispensing still waits", leaseIDs(t, j, "w1", 10, time.Minute), paper.ID)
	if err := j.Complete(ctx, paper.ID, "w1", "MedicationRequest/1"); err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "after the prescription is done", leaseIDs(t, j, "w1", 10, time.Minute), d.ID)
	// Oldest first, bounded by max.
	var ids []string
	for i := range 5 {
		ids = append(ids, mustAppend(t, j, dispensing(10+i)).ID)
	}
	sameIDs(t, "bounded", leaseIDs(t, j, "w2", 2, time.Minute), ids[0], ids[1])
	sameIDs(t, "rest", leaseIDs(t, j, "w2", 10, time.Minute), ids[2:]...)
}

func TestOutboxParkAndRequeue(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	j := openTest(t, c)
	rec := mustAppend(t, j, dispensing(1))
	leaseIDs(t, j, "w1", 1, time.Minute)
	wantCode(t, j.Park(ctx, rec.ID, "IT"), rx.ECONFLICT) // live lease
	wantCode(t, j.Requeue(ctx, rec.ID), rx.ECONFLICT)
	if err := j.Reject(ctx, rec.ID, "w1", "422"); err != nil {
		t.Fatal(err)
	}
	if err := j.Park(ctx, rec.ID, "waiting for Kela"); err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "parked is not leased", leaseIDs(t, j, "w1", 1, time.Minute))
	if err := j.Requeue(ctx, rec.ID); err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "requeued", leaseIDs(t, j, "w1", 1, time.Minute), rec.ID)
	if err := j.Complete(ctx, rec.ID, "w1", "x"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, j.Requeue(ctx, rec.ID), rx.ECONFLICT)
	wantCode(t, j.Park(ctx, rec.ID, "x"), rx.ECONFLICT)
	wantCode(t, j.Park(ctx, "00000000-0000-0000-0000-000000000000", "x"), rx.ENOTFOUND)
}

func TestOutboxCountsAndList(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	j := openTest(t, c)
	cnt, err := j.Counts(ctx)
	if err != nil || cnt != (Counts{}) {
		t.Fatalf("empty Counts = %+v, %v", cnt, err)
	}
	first := c.Now()
	var ids []string
	for i := range 7 {
		c.Add(time.Minute)
		ids = append(ids, mustAppend(t, j, dispensing(i)).ID)
	}
	mustAppend(t, j, NewRecord{Kind: KindPaperPrescription, Pharmacist: "anna"}) // not uploaded
	c.Add(time.Minute)
	leaseIDs(t, j, "w", 6, time.Minute) // ids[0..5] sending, ids[6] pending
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(j.Complete(ctx, ids[0], "w", "a"))
	must(j.Complete(ctx, ids[1], "w", "b"))
	doneAt := c.Now()
	c.Add(time.Minute)
	must(j.Retry(ctx, ids[2], "w", c.Now().Add(time.Hour), "timeout"))
	must(j.Conflict(ctx, ids[3], "w", "locked"))
	must(j.Reject(ctx, ids[4], "w", "422 expired"))
	// ids[5] still sending
	cnt, err = j.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := Counts{Pending: 1, Sending: 1, Retry: 1, Done: 2, Conflict: 1, Rejected: 1,
		OldestPending: first.Add(3 * time.Minute), LastDone: doneAt, LastAttempt: doneAt,
		LastError: "422 expired", LastErrorAt: c.Now()}
	if cnt != want {
		t.Errorf("Counts =\n%+v\nwant\n%+v", cnt, want)
	}
	if cnt.Unsent() != 3 || cnt.NeedsReview() != 2 {
		t.Errorf("Unsent %d NeedsReview %d", cnt.Unsent(), cnt.NeedsReview())
	}
	tests := []struct {
		name   string
		states []OutboxState
		want   []string
	}{
		{"all", nil, ids},
		{"done", []OutboxState{OutboxDone}, ids[:2]},
		{"review", []OutboxState{OutboxConflict, OutboxRejected}, ids[3:5]},
		{"unsent", []OutboxState{OutboxPending, OutboxSending, OutboxRetry}, []string{ids[2], ids[5], ids[6]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := j.OutboxList(ctx, tt.states...)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range list {
				got = append(got, e.RecordID)
			}
			sameIDs(t, tt.name, got, tt.want...)
		})
	}
}

func TestLeaseInvalid(t *testing.T) {
	j := openTest(t, nil)
	for name, f := range map[string]func() error{
		"no owner": func() error { _, err := j.Lease(context.Background(), "", 1, time.Minute); return err },
		"no count": func() error { _, err := j.Lease(context.Background(), "w", 0, time.Minute); return err },
		"no ttl":   func() error { _, err := j.Lease(context.Background(), "w", 1, 0); return err },
	} {
		t.Run(name, func(t *testing.T) { wantCode(t, f(), rx.EINVALID) })
	}
}
