package queue_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/hub"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
)

// The lanes implement the interfaces queue declares.
var _ queue.Store = (*journal.AdoptLane)(nil)

// hubCounter is a second counter of the env's pharmacy: its own journal and
// service, both counters connected to one embedded hub on loopback.
type hubCounter struct {
	j   *journal.Journal
	svc *record.Service
	hc  *hub.Client
}

// pharmacyHub starts a hub, connects the env's counter (kassa-1) to it,
// and opens kassa-2 beside it.
func (e *env) pharmacyHub() (a, b *hubCounter) {
	e.t.Helper()
	srv, err := hub.Start(e.ctx, hub.Options{Addr: "127.0.0.1:0", DataDir: e.t.TempDir()})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(srv.Close)
	connect := func(j *journal.Journal, svc *record.Service, name string) *hubCounter {
		hc, err := hub.Connect(e.ctx, hub.ClientOptions{URL: srv.URL(), Counter: name, Logf: e.t.Logf})
		if err != nil {
			e.t.Fatal(err)
		}
		e.t.Cleanup(hc.Close)
		return &hubCounter{j: j, svc: svc, hc: hc}
	}
	jb, err := journal.Open(e.ctx, filepath.Join(e.t.TempDir(), "journal.db"), journal.Options{Terminal: "kassa-2"})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { jb.Close() })
	return connect(e.j, e.svc, "kassa-1"),
		connect(jb, &record.Service{Journal: jb, Policy: policy.Default(), Pharmacy: pharmacy}, "kassa-2")
}

// catchUp shares the counter's lane and keeps what the others shared.
func (k *hubCounter) catchUp(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if r, err := k.hc.CatchUp(ctx, k.j); err != nil || !r.Complete {
		t.Fatalf("catch up: %+v, %v", r, err)
	}
}

// TestAdoptThenReturn: counter kassa-1 records during an outage and dies
// before uploading. kassa-2 adopts its uploads and sends them; a record
// kassa-1 voided before its upload is not sent. Then kassa-1 returns and
// drains its own outbox: it finds every record upstream and sends nothing
// twice. Each record is upstream exactly once.
func TestAdoptThenReturn(t *testing.T) {
	e := newEnv(t)
	a, b := e.pharmacyHub()

	// A dispensing kassa-1 uploaded, then voided: its void is still to go.
	gone := e.essential(aino)
	drain(t, e.worker(e.client("", 0), fastConfig()), 20*time.Second)
	void, err := e.svc.Void(e.ctx, pharmacist, gone.ID, "wrong patient")
	if err != nil {
		t.Fatal(err)
	}

	p, d := e.paper(eino, "burana-400mg-tabl", time.Now().AddDate(0, 0, -1), 1)
	d2 := e.dispenseRecorded(eino, "burana-400mg-tabl", p.ID, 1)
	ess := e.essential(matti)
	q, _ := e.paper(aino, "burana-400mg-tabl", time.Now().AddDate(0, 0, -1), 0)
	if _, err := queue.Resolve(e.ctx, e.j, pharmacist, q.ID, queue.Resolution{Action: queue.ActionVoid, Reason: "entered in error"}); err != nil {
		t.Fatal(err)
	}
	a.catchUp(t) // shared; then kassa-1 dies with its outbox full
	b.catchUp(t)

	ad, err := b.j.Adopt(e.ctx, "kassa-1", "it@kassa-2", 0)
	if err != nil {
		t.Fatal(err)
	}
	if ad.Pending() != 5 || len(ad.Adopted) != 7 {
		t.Fatalf("adopted %+v, want 5 pending (4 records and a void) and the 2 voided", ad)
	}
	lane := b.j.AdoptLane()
	var mu sync.Mutex
	var outcomes []queue.Outcome
	cfg := fastConfig()
	// Done outcomes come from the committer, others from the uploads.
	cfg.OnOutcome = func(o queue.Outcome) { mu.Lock(); outcomes = append(outcomes, o); mu.Unlock() }
	cfg.Concurrency = 1
	sum := drain(t, queue.New(lane, e.client("", 0), nil, cfg), 20*time.Second)
	if sum.Uploaded != 5 || sum.Conflicts+sum.Rejected+sum.Left+sum.Blocked != 0 {
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("adopted drain %+v (%+v), want 5 uploaded", sum, outcomes)
	}
	for _, r := range []journal.Record{p, *d, d2, ess} {
		if n := e.upstream(r); n != 1 {
			t.Errorf("%s %s upstream %d times after the adoption, want 1", r.Kind, r.ID, n)
		}
		if le, err := lane.Outbox(e.ctx, r.ID); err != nil || le.State != journal.OutboxDone || le.UpstreamID == "" {
			t.Errorf("adopted %s: %+v, %v; want done", r.ID, le, err)
		}
	}
	if n := e.upstream(q); n != 0 {
		t.Errorf("the voided prescription is upstream %d times, want 0", n)
	}
	e.wantVoidedUpstream(gone)
	// kassa-2's own outbox sent nothing of kassa-1's.
	if c, _ := b.j.Counts(e.ctx); c.Done != 0 {
		t.Errorf("kassa-2's own outbox: %+v", c)
	}

	// kassa-1 returns and syncs: every record is done, and still once
	// upstream.
	sum = drain(t, e.worker(e.client("", 0), fastConfig()), 20*time.Second)
	if sum.Uploaded != 5 || sum.Conflicts+sum.Rejected+sum.Left != 0 {
		t.Fatalf("kassa-1's drain after its return: %+v, want its 4 records and the void done", sum)
	}
	e.wantState(void.Record, journal.OutboxDone, "")
	e.wantVoidedUpstream(gone)
	for _, r := range []journal.Record{p, *d, d2, ess} {
		e.wantState(r, journal.OutboxDone, "")
		if n := e.upstream(r); n != 1 {
			t.Errorf("%s %s upstream %d times after kassa-1 returned, want 1", r.Kind, r.ID, n)
		}
		le, _ := lane.Outbox(e.ctx, r.ID)
		if got := e.entry(r.ID).UpstreamID; got != le.UpstreamID {
			t.Errorf("%s: kassa-1 has upstream id %s, kassa-2 %s: not the same resource", r.ID, got, le.UpstreamID)
		}
	}
	e.wantState(q, journal.OutboxVoided, "")
}

// TestDispensingAgainstPeerPrescriptionWaits: a dispensing at kassa-2
// against a paper prescription recorded at kassa-1 is sent before that
// prescription is upstream. The Prescription Centre does not know the
// prescription yet: the dispensing waits (retry, naming the counter), it is
// neither rejected nor in conflict, and it goes once kassa-1 has sent the
// prescription.
func TestDispensingAgainstPeerPrescriptionWaits(t *testing.T) {
	e := newEnv(t)
	a, b := e.pharmacyHub()
	p, _ := e.paper(eino, "burana-400mg-tabl", time.Now().AddDate(0, 0, -1), 0)
	a.catchUp(t)
	b.catchUp(t)
	m := e.medicine("burana-400mg-tabl")
	pk, _ := m.SmallestPackage()
	rc, err := b.svc.Dispense(e.ctx, pharmacist, rx.Dispensing{PrescriptionRecord: p.ID, Patient: eino, Medicine: m, VNR: pk.VNR, Quantity: 1},
		record.DispenseOptions{})
	if err != nil {
		t.Fatalf("dispense at kassa-2 against kassa-1's prescription: %v", err)
	}
	d := rc.Record

	wb := queue.New(b.j, e.client("", 0), nil, fastConfig())
	sum, err := wb.Drain(e.ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	o, err := b.j.Outbox(e.ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rejected+sum.Conflicts != 0 || o.State != journal.OutboxRetry {
		t.Fatalf("dispensing before its prescription: %s (%q, %q), summary %+v; want retry", o.State, o.Conflict, o.LastError, sum)
	}
	if !strings.Contains(o.LastError, p.ID) || !strings.Contains(o.LastError, "kassa-1") {
		t.Errorf("the wait does not say what it waits for: %q", o.LastError)
	}
	if n := e.upstream(d); n != 0 {
		t.Fatalf("dispensing upstream %d times before its prescription", n)
	}

	// kassa-1 sends its prescription; the dispensing then goes.
	drain(t, e.worker(e.client("", 0), fastConfig()), 20*time.Second)
	if n := e.upstream(p); n != 1 {
		t.Fatalf("prescription upstream %d times", n)
	}
	sum = drain(t, wb, 20*time.Second)
	if sum.Uploaded != 1 {
		t.Fatalf("kassa-2's drain after the prescription: %+v", sum)
	}
	if o, _ := b.j.Outbox(e.ctx, d.ID); o.State != journal.OutboxDone {
		t.Fatalf("dispensing %s, want done", o.State)
	}
	if n := e.upstream(d); n != 1 {
		t.Errorf("dispensing upstream %d times, want 1", n)
	}
}

// TestAdoptUnblocksPeerDispensing: kassa-1 dies with a paper prescription
// not uploaded; a dispensing at kassa-2 against it waits. IT adopts
// kassa-1's uploads at kassa-2: the prescription goes, and the waiting
// dispensing after it.
func TestAdoptUnblocksPeerDispensing(t *testing.T) {
	e := newEnv(t)
	a, b := e.pharmacyHub()
	p, _ := e.paper(eino, "burana-400mg-tabl", time.Now().AddDate(0, 0, -1), 0)
	a.catchUp(t)
	b.catchUp(t)
	m := e.medicine("burana-400mg-tabl")
	pk, _ := m.SmallestPackage()
	rc, err := b.svc.Dispense(e.ctx, pharmacist, rx.Dispensing{PrescriptionRecord: p.ID, Patient: eino, Medicine: m, VNR: pk.VNR, Quantity: 2},
		record.DispenseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wb := queue.New(b.j, e.client("", 0), nil, fastConfig())
	if _, err := wb.Drain(e.ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.j.Adopt(e.ctx, "kassa-1", "it@kassa-2", 0); err != nil {
		t.Fatal(err)
	}
	if s := drain(t, queue.New(b.j.AdoptLane(), e.client("", 0), nil, fastConfig()), 20*time.Second); s.Uploaded != 1 {
		t.Fatalf("adopted drain %+v, want the prescription", s)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	for {
		if _, err := wb.Drain(ctx, true); err != nil {
			t.Fatalf("kassa-2's dispensing never went: %v", err)
		}
		o, err := b.j.Outbox(e.ctx, rc.Record.ID)
		if err != nil {
			t.Fatal(err)
		}
		if o.State == journal.OutboxDone {
			break
		}
		if o.State != journal.OutboxRetry {
			t.Fatalf("dispensing %s (%q %q), want retry then done", o.State, o.Conflict, o.LastError)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("dispensing still waiting: %q", o.LastError)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if n := e.upstream(p); n != 1 {
		t.Errorf("prescription upstream %d times", n)
	}
	if n := e.upstream(rc.Record); n != 1 {
		t.Errorf("dispensing upstream %d times", n)
	}
}

// wantVoidedUpstream checks that the record is upstream once, voided.
func (e *env) wantVoidedUpstream(rec journal.Record) {
	e.t.Helper()
	if n := e.upstream(rec); n != 1 {
		e.t.Errorf("voided %s upstream %d times, want 1", rec.ID, n)
	}
	n, err := e.sim.CountActiveByIdentifier("MedicationDispense", rx.SystemRecordUUID, "urn:uuid:"+rec.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	if n != 0 {
		e.t.Errorf("voided %s is still active upstream", rec.ID)
	}
}

// TestAdoptedConflictStaysForReview: an adopted dispensing the Prescription
// Centre refuses (its e-prescription was dispensed in full elsewhere) is
// held in conflict at the adopting counter, with the re-read's detail, as
// the counter's own would be; nothing goes upstream.
func TestAdoptedConflictStaysForReview(t *testing.T) {
	e := newEnv(t)
	a, b := e.pharmacyHub()
	d := e.dispense(matti, "EPC-DONE", 30)
	a.catchUp(t)
	b.catchUp(t)
	if _, err := b.j.Adopt(e.ctx, "kassa-1", "it@kassa-2", 0); err != nil {
		t.Fatal(err)
	}
	lane := b.j.AdoptLane()
	sum := drain(t, queue.New(lane, e.client("", 0), nil, fastConfig()), 20*time.Second)
	if sum.Conflicts != 1 || sum.Uploaded != 0 {
		t.Fatalf("adopted drain %+v, want one conflict", sum)
	}
	o, err := lane.Outbox(e.ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := queue.EntryConflict(o)
	if o.State != journal.OutboxConflict || !ok || c.Kind != queue.DispensedElsewhere || !strings.Contains(c.Detail, "EPC-DONE") {
		t.Fatalf("adopted dispensing %s, conflict %+v, want dispensed elsewhere naming EPC-DONE", o.State, c)
	}
	if review, _ := lane.OutboxList(e.ctx, journal.OutboxConflict, journal.OutboxRejected); len(review) != 1 {
		t.Fatalf("for review at kassa-2: %+v", review)
	}
	if n := e.upstream(d); n != 0 {
		t.Fatalf("refused dispensing upstream %d times", n)
	}
}

// TestDispensingAgainstPeerPrescriptionLinked: a paper prescription at
// kassa-1 was held as a possible duplicate, and its pharmacist linked it to
// the e-prescription: it is never created upstream. A dispensing at kassa-2
// against it goes against the linked e-prescription, as kassa-1's own
// would; it does not wait for a prescription that will never come.
func TestDispensingAgainstPeerPrescriptionLinked(t *testing.T) {
	e := newEnv(t)
	a, b := e.pharmacyHub()
	p, _ := e.paper(aino, "cardace-5mg-tabl", time.Now().AddDate(0, 0, -1), 0)
	drain(t, e.worker(e.client("", 0), fastConfig()), 20*time.Second)
	e.wantState(p, journal.OutboxConflict, queue.PossibleDuplicate)
	if _, err := queue.Resolve(e.ctx, e.j, pharmacist, p.ID, queue.Resolution{Action: queue.ActionLink, PrescriptionID: "EPC-DUP"}); err != nil {
		t.Fatal(err)
	}
	drain(t, e.worker(e.client("", 0), fastConfig()), 20*time.Second)
	e.wantState(p, journal.OutboxDone, "")
	a.catchUp(t)
	b.catchUp(t)

	m := e.medicine("cardace-5mg-tabl")
	pk, _ := m.SmallestPackage()
	rc, err := b.svc.Dispense(e.ctx, pharmacist, rx.Dispensing{PrescriptionRecord: p.ID, Patient: aino, Medicine: m, VNR: pk.VNR, Quantity: 30},
		record.DispenseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := queue.New(b.j, e.client("", 0), nil, fastConfig()).Drain(e.ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := b.j.Outbox(e.ctx, rc.Record.ID)
	if sum.Uploaded != 1 || o.State != journal.OutboxDone {
		t.Fatalf("dispensing against a linked peer prescription: %s (%q), summary %+v; want done", o.State, o.LastError, sum)
	}
	if n := e.upstream(p); n != 0 {
		t.Errorf("the linked prescription was created upstream (%d)", n)
	}
	if n := e.upstream(rc.Record); n != 1 {
		t.Errorf("dispensing upstream %d times, want 1", n)
	}
}

// TestAdoptSkipsWhatItsCounterUploaded: kassa-1 uploaded two records,
// voided one of them, recorded a third and died; its last heartbeat said
// how far it had uploaded. kassa-2 adopts with that: it sends the third
// record and the void, and neither uploaded record again.
func TestAdoptSkipsWhatItsCounterUploaded(t *testing.T) {
	e := newEnv(t)
	a, b := e.pharmacyHub()
	first, second := e.essential(matti), e.essential(aino)
	drain(t, e.worker(e.client("", 0), fastConfig()), 20*time.Second)
	void, err := e.svc.Void(e.ctx, pharmacist, first.ID, "wrong patient")
	if err != nil {
		t.Fatal(err)
	}
	third := e.essential(eino)
	a.catchUp(t)
	if err := a.hc.Announce(e.ctx, e.j); err != nil {
		t.Fatal(err)
	}
	b.catchUp(t)

	states, err := b.hc.Counters(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var through int64
	for _, st := range states {
		if st.Counter == "kassa-1" {
			through = st.UploadedThrough
		}
	}
	if through != second.Seq {
		t.Fatalf("kassa-1 announced uploads through %d, want %d (its second record)", through, second.Seq)
	}
	ad, err := b.j.Adopt(e.ctx, "kassa-1", "it@kassa-2", through)
	if err != nil {
		t.Fatal(err)
	}
	if ad.Pending() != 2 || ad.DoneThere != 1 {
		t.Fatalf("adoption %+v, want the third record and the void to send, the second uploaded", ad)
	}
	before := len(e.sim.Requests())
	sum := drain(t, queue.New(b.j.AdoptLane(), e.client("", 0), nil, fastConfig()), 20*time.Second)
	if sum.Uploaded != 2 {
		t.Fatalf("adopted drain %+v", sum)
	}
	sent := map[string]int{}
	for _, r := range e.sim.Requests()[before:] {
		if r.Method != "POST" {
			continue // the void reads and updates the first record
		}
		for _, id := range r.Records {
			sent[strings.TrimPrefix(id, "urn:uuid:")]++
		}
	}
	if sent[first.ID]+sent[second.ID] != 0 || sent[third.ID] != 1 {
		t.Errorf("kassa-2 created %v; want only the third record %s", sent, third.ID)
	}
	if n := e.upstream(third); n != 1 {
		t.Errorf("third record upstream %d times", n)
	}
	e.wantVoidedUpstream(first)
	e.wantState(void.Record, journal.OutboxPending, "")
}
