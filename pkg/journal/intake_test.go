package journal

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// outboxRows counts the rows of the outbox table itself: the entries taken in.
func outboxRows(t *testing.T, j *Journal) int {
	t.Helper()
	var n int
	if err := j.r.QueryRow(`SELECT count(*) FROM outbox`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAppendLeavesOutboxToIntake checks that an append writes only its
// record, that readers see it as pending all the same, and that the next
// write on the outbox takes it in.
func TestAppendLeavesOutboxToIntake(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	j := openTest(t, c)
	first := mustAppend(t, j, dispensing(1)) // through the transaction: no head known yet
	c.Add(time.Second)
	second := mustAppend(t, j, dispensing(2)) // one statement on the known head
	local := mustAppend(t, j, NewRecord{Kind: KindPaperPrescription, Pharmacist: "anna"})
	if n := outboxRows(t, j); n != 0 {
		t.Fatalf("the appends wrote %d outbox rows; want none (the intake's)", n)
	}

	cnt, err := j.Counts(ctx)
	if err != nil || cnt.Pending != 2 || cnt.Unsent() != 2 || !cnt.OldestPending.Equal(first.CreatedAt) {
		t.Fatalf("Counts before intake = %+v, %v; want 2 pending since %v", cnt, err, first.CreatedAt)
	}
	e, err := j.Outbox(ctx, second.ID)
	if err != nil || e.State != OutboxPending || e.Seq != second.Seq || e.Kind != KindDispensing ||
		!e.CreatedAt.Equal(second.CreatedAt) || !e.NextAttempt.Equal(second.CreatedAt) {
		t.Fatalf("Outbox(second) before intake = %+v, %v", e, err)
	}
	_, err = j.Outbox(ctx, local.ID)
	wantCode(t, err, rx.ENOTFOUND)
	for _, states := range [][]OutboxState{nil, {OutboxPending}, {OutboxPending, OutboxRetry}} {
		list, err := j.OutboxList(ctx, states...)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range list {
			got = append(got, e.RecordID)
		}
		sameIDs(t, "OutboxList before intake", got, first.ID, second.ID)
	}
	if list, err := j.OutboxList(ctx, OutboxDone, OutboxRetry); err != nil || len(list) != 0 {
		t.Fatalf("OutboxList(done, retry) = %v, %v; want none", list, err)
	}

	// The lease takes both in and hands them out, oldest first.
	sameIDs(t, "leased", leaseIDs(t, j, "w", 10, time.Minute), first.ID, second.ID)
	if n := outboxRows(t, j); n != 2 {
		t.Fatalf("%d outbox rows after the lease; want 2", n)
	}
	var through int64
	if err := j.r.QueryRow(`SELECT through FROM outbox_intake`).Scan(&through); err != nil || through != local.Seq {
		t.Fatalf("intake through %d, %v; want %d", through, err, local.Seq)
	}
	checkCounts(t, j)
	cnt, err = j.Counts(ctx)
	if err != nil || cnt.Pending != 0 || cnt.Sending != 2 || !cnt.OldestPending.Equal(first.CreatedAt) {
		t.Fatalf("Counts after the lease = %+v, %v", cnt, err)
	}

	// Entries taken in and a tail together: the tail follows, in order.
	third := mustAppend(t, j, dispensing(3))
	if err := j.Complete(ctx, first.ID, "w", "MedicationDispense/1"); err != nil { // takes the third in
		t.Fatal(err)
	}
	fourth := mustAppend(t, j, dispensing(4))
	list, err := j.OutboxList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range list {
		got = append(got, string(e.State)+" "+e.RecordID)
	}
	sameIDs(t, "OutboxList with a tail", got, "done "+first.ID, "sending "+second.ID, "pending "+third.ID, "pending "+fourth.ID)
	cnt, err = j.Counts(ctx)
	if err != nil || cnt.Pending != 2 || cnt.Done != 1 || cnt.Sending != 1 {
		t.Fatalf("Counts with a tail = %+v, %v", cnt, err)
	}
	checkCounts(t, j)
}

// TestIntakeKeepsDependencies checks that a dependent waits for what it
// depends on whether or not the outbox has taken either in, and that a
// dependency must be marked for upload.
func TestIntakeKeepsDependencies(t *testing.T) {
	ctx := context.Background()
	j := openTest(t, nil)
	mustAppend(t, j, dispensing(0)) // a head is known: later appends may take the one-statement path
	paper := mustAppend(t, j, NewRecord{Kind: KindPaperPrescription, Pharmacist: "anna", Patient: "131052-308T", Upload: true})
	d := dispensing(1)
	d.DependsOn = paper.ID // in the tail
	dep := mustAppend(t, j, d)
	e, err := j.Outbox(ctx, dep.ID)
	if err != nil || e.DependsOn != paper.ID {
		t.Fatalf("Outbox(dependent) = %+v, %v; want it to depend on %s", e, err, paper.ID)
	}
	deps, err := j.Dependents(ctx, paper.ID)
	if err != nil || len(deps) != 1 || deps[0].RecordID != dep.ID || deps[0].State != OutboxPending {
		t.Fatalf("Dependents before intake = %+v, %v; want the dependent, pending", deps, err)
	}
	leased, err := j.Lease(ctx, "w", 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(leased); len(got) != 2 || got[1] != paper.ID {
		t.Fatalf("leased %v; want the first dispensing and the prescription, not its dependent", got)
	}
	sameIDs(t, "dependents", ids(mustLeaseDependents(t, j, "w", paper.ID)), dep.ID)

	local := mustAppend(t, j, NewRecord{Kind: KindPaperPrescription, Pharmacist: "anna"})
	for _, on := range []string{local.ID, "0198d2a4-0000-7000-8000-000000000000"} {
		d := dispensing(2)
		d.DependsOn = on
		_, err := j.Append(ctx, d)
		wantCode(t, err, rx.ENOTFOUND)
	}
	_, err = j.AppendAll(ctx, NewRecord{Kind: KindPaperPrescription, Pharmacist: "anna", Patient: "131052-308T", Upload: true, ID: "0198d2a4-0000-7000-8000-000000000001"},
		NewRecord{Kind: KindDispensing, Pharmacist: "anna", Patient: "131052-308T", Upload: true, DependsOn: "0198d2a4-0000-7000-8000-000000000001"})
	if err != nil {
		t.Fatalf("AppendAll of a prescription and its dependent: %v", err)
	}
}

func mustLeaseDependents(t *testing.T, j *Journal, owner, id string) []OutboxEntry {
	t.Helper()
	es, err := j.LeaseDependents(context.Background(), owner, id, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestIntakeAfterReopen checks that a record marked for upload by a
// process that then ended is taken in and sent by the next one.
func TestIntakeAfterReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := Open(ctx, path, Options{Terminal: "kassa-1"})
	if err != nil {
		t.Fatal(err)
	}
	recs := []Record{mustAppend(t, j, dispensing(1)), mustAppend(t, j, dispensing(2))}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j, err = Open(ctx, path, Options{Terminal: "kassa-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	sameIDs(t, "leased after reopening", leaseIDs(t, j, "w", 10, time.Minute), recs[0].ID, recs[1].ID)
}

// TestVoidInTail checks that a record voided before the outbox took it in
// is never sent.
func TestVoidInTail(t *testing.T) {
	ctx := context.Background()
	j := openTest(t, nil)
	mustAppend(t, j, dispensing(0))
	rec := mustAppend(t, j, dispensing(1))
	if _, err := j.Resolve(ctx, voidOf(rec.ID), OutboxVoided); err != nil {
		t.Fatal(err)
	}
	e, err := j.Outbox(ctx, rec.ID)
	if err != nil || e.State != OutboxVoided {
		t.Fatalf("Outbox(voided) = %+v, %v", e, err)
	}
	for _, id := range leaseIDs(t, j, "w", 10, time.Minute) {
		if id == rec.ID {
			t.Fatal("a voided record was leased")
		}
	}
	checkCounts(t, j)
}

// TestIntakeInBatches checks that a tail longer than intakeBatch is taken
// in whole before the write that finds it, oldest first.
func TestIntakeInBatches(t *testing.T) {
	ctx := context.Background()
	defer func(n int64) { intakeBatch = n }(intakeBatch)
	intakeBatch = 50
	j := openTest(t, nil)
	nrs := make([]NewRecord, 2*intakeBatch+3)
	for i := range nrs {
		nrs[i] = dispensing(i)
	}
	recs, err := j.AppendAll(ctx, nrs...)
	if err != nil {
		t.Fatal(err)
	}
	// Parking the newest record needs its entry: it is in the last batch.
	last := recs[len(recs)-1]
	if err := j.Park(ctx, last.ID, "waiting for Kela"); err != nil {
		t.Fatal(err)
	}
	if n := outboxRows(t, j); n != len(recs) {
		t.Fatalf("%d outbox rows after the write; want all %d taken in", n, len(recs))
	}
	cnt, err := j.Counts(ctx)
	if err != nil || cnt.Pending != int64(len(recs)-1) || cnt.Parked != 1 {
		t.Fatalf("Counts = %+v, %v", cnt, err)
	}
	leased, err := j.Lease(ctx, "w", len(recs), time.Minute)
	if err != nil || len(leased) != len(recs)-1 || leased[0].RecordID != recs[0].ID {
		t.Fatalf("leased %d entries, %v; want the %d not parked, oldest first", len(leased), err, len(recs)-1)
	}
	checkCounts(t, j)
}

// TestVerifyFindsLostEntry checks that Verify reports a record the outbox
// took in whose entry is gone.
func TestVerifyFindsLostEntry(t *testing.T) {
	ctx := context.Background()
	j := openTest(t, nil)
	recs := []Record{mustAppend(t, j, dispensing(1)), mustAppend(t, j, dispensing(2)), mustAppend(t, j, dispensing(3))}
	leaseIDs(t, j, "w", 10, time.Minute)
	if rep, err := j.Verify(ctx); err != nil || !rep.OK {
		t.Fatalf("Verify before = %+v, %v", rep, err)
	}
	if _, err := j.w.ExecContext(ctx, `DELETE FROM outbox WHERE record_id = ?`, recs[1].ID); err != nil {
		t.Fatal(err)
	}
	rep, err := j.Verify(ctx)
	if err != nil || rep.OK || !strings.Contains(rep.Problem, recs[1].ID) || !strings.Contains(rep.Problem, "would never be sent") {
		t.Fatalf("Verify after an entry was deleted = %+v, %v", rep, err)
	}
}
