package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
)

var (
	claimPharmacist = rx.Pharmacist{ID: "aino", Name: "Aino Virtanen", Registration: "10100012345", Role: rx.RolePharmacist}
	claimPhysician  = rx.Prescriber{Name: "Anna Korhonen", Registration: "10090004180", Profession: rx.Physician, Phone: "+358 9 3104 5000"}
)

const claimPatient = "131052-902Y"

// claimDesk is a counter that records through pkg/record, claiming at the hub
// over its connection, as the counter and `tiski record` do.
type claimDesk struct {
	*counter
	svc *record.Service
	med rx.Medicine
}

func newClaimDesk(t *testing.T, url, name string) *claimDesk {
	t.Helper()
	k := newCounter(t, url, name)
	fx, err := rx.LoadFixtures(tiski.Fixtures(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	med, ok := fx.Medicine("metforem-500mg-tabl")
	if !ok {
		t.Fatal("no fixture medicine metforem-500mg-tabl")
	}
	svc := &record.Service{Journal: k.j, Policy: policy.Default(), Pharmacy: rx.Pharmacy{Name: "Apteekki Tiski", OID: "1.2.246.10.12345678.10.0"},
		Claimer: Claims{Client: func() *Client { return k.c }}}
	return &claimDesk{counter: k, svc: svc, med: med}
}

// paper records a paper prescription of quantity × (1 + repeats), with a
// first dispensing of first when first > 0.
func (d *claimDesk) paper(t *testing.T, quantity, repeats, first int) journal.Record {
	t.Helper()
	p := rx.Prescription{Patient: claimPatient, Prescriber: claimPhysician, Medicine: d.med, Issued: time.Now().AddDate(0, 0, -1),
		Dosage: "1 tablet twice a day", Quantity: quantity, Repeats: repeats, Reason: "the prescriber's system was down"}
	var disp *rx.Dispensing
	if first > 0 {
		disp = &rx.Dispensing{Patient: claimPatient, Medicine: d.med, VNR: "990291", Quantity: first}
	}
	rc, err := d.svc.Paper(context.Background(), claimPharmacist, p, disp)
	if err != nil {
		t.Fatal(err)
	}
	return rc.Record
}

func (d *claimDesk) dispense(prescription string, qty int) (record.Receipt, error) {
	return d.svc.Dispense(context.Background(), claimPharmacist, rx.Dispensing{Patient: claimPatient, PrescriptionRecord: prescription,
		Medicine: d.med, VNR: "990291", Quantity: qty}, record.DispenseOptions{})
}

// catchUp shares what d's lane holds and keeps what the hub holds for d,
// as a command's catch-up does, but without waiting out a fetch for
// acknowledgements still on their way (CatchUp counts those as pending).
func (d *claimDesk) catchUp(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := d.c.Publish(ctx, d.j); err != nil {
		t.Fatalf("%s shares: %v", d.name, err)
	}
	cons, err := d.c.consumer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		if info.NumPending == 0 {
			return
		}
		if _, err := d.c.Receive(ctx, d.j, int(info.NumPending), 100*time.Millisecond); err != nil && ctx.Err() != nil {
			t.Fatalf("%s receives: %v", d.name, err)
		}
	}
}

// readClaims reads the hub's claims on a prescription.
func readClaims(t *testing.T, c *Client, prescription string) ClaimState {
	t.Helper()
	ctx := context.Background()
	st, err := c.js.Stream(ctx, ClaimsStream)
	if err != nil {
		t.Fatal(err)
	}
	cs, _, err := c.lastClaim(ctx, st, prescription)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestTwoCountersRaceForTheLastPack: two counters, each with its own
// journal and neither sharing while they race, dispense the last pack of
// one journal prescription at the same moment, 100 times, each time a
// fresh prescription. Their journals cannot see each other's dispensing;
// only the claim at the hub can refuse one. Exactly one wins each time,
// and the other is told what is left in the journal's words.
func TestTwoCountersRaceForTheLastPack(t *testing.T) {
	s := startHub(t, t.TempDir())
	desks := []*claimDesk{newClaimDesk(t, s.URL(), "kassa-1"), newClaimDesk(t, s.URL(), "kassa-2")}
	const rounds = 100
	for round := range rounds {
		a, b := desks[round%2], desks[(round+1)%2]
		// Two packs of 10: the first handed out with the prescription,
		// the second is the last.
		p := a.paper(t, 10, 1, 10)
		a.catchUp(t)
		b.catchUp(t)
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, len(desks))
		for i, d := range desks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = d.dispense(p.ID, 10)
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case rx.ErrorCode(err) != rx.EINVALID || !strings.Contains(err.Error(), "quantity 10 is more than the 0 left of journal prescription "+p.ID+" (20 of 20 dispensed)"):
				t.Errorf("round %d: %s was refused as %s: %v; want the last pack refused as not left", round, desks[i].name, rx.ErrorCode(err), err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: the last pack was handed out %d times; want once", round, won)
		}
		if cs := readClaims(t, a.c, p.ID); cs.Total != 20 || len(cs.Claims) != 2 {
			t.Fatalf("round %d: the hub's claims %+v; want the first dispensing and the winner's, 20 in all", round, cs)
		}
	}
	for _, d := range desks {
		if cc := d.svc.CrossCheck(); cc.Unchecked != 0 {
			t.Errorf("%s: %d dispensings not checked across counters while the hub was up", d.name, cc.Unchecked)
		}
	}
}

// TestVoidReleasesTheClaim: a dispensing voided at one counter frees its
// quantity at the hub at once, before the void itself reaches the other
// counter; a dispensing not voided keeps it.
func TestVoidReleasesTheClaim(t *testing.T) {
	s := startHub(t, t.TempDir())
	a, b := newClaimDesk(t, s.URL(), "kassa-1"), newClaimDesk(t, s.URL(), "kassa-2")
	p := a.paper(t, 10, 0, 0)
	a.catchUp(t)
	b.catchUp(t)
	rc, err := a.dispense(p.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	// Counter 2 has not received the dispensing: the hub refuses.
	if _, err := b.dispense(p.ID, 10); err == nil || !strings.Contains(err.Error(), "more than the 0 left of journal prescription "+p.ID+" (10 of 10 dispensed)") {
		t.Fatalf("counter 2 dispensed what counter 1 claimed: %v", err)
	}
	if _, err := a.svc.Void(context.Background(), claimPharmacist, rc.Record.ID, "entered in error"); err != nil {
		t.Fatal(err)
	}
	if cs := readClaims(t, a.c, p.ID); cs.Total != 0 || !cs.Released {
		t.Fatalf("after the void the hub holds %+v; want nothing claimed", cs)
	}
	if _, err := b.dispense(p.ID, 10); err != nil {
		t.Fatalf("counter 2 after counter 1's void: %v", err)
	}
}

// TestHubDownThenOverDispensed: with the hub down, two counters each
// dispense the whole of one journal prescription. Both are recorded after
// the check of their own journal, marked not checked across counters, with
// a warning. Once the hub is back and the records are shared, each
// counter's dispensing is an over-dispensed conflict for review, and
// neither is uploaded.
func TestHubDownThenOverDispensed(t *testing.T) {
	dir := t.TempDir()
	s := startHub(t, dir)
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	a, b := newClaimDesk(t, s.URL(), "kassa-1"), newClaimDesk(t, s.URL(), "kassa-2")
	p := a.paper(t, 10, 0, 0)
	a.catchUp(t)
	b.catchUp(t)

	s.Close()
	waitForClaims(t, "the counters to see the hub gone", func() bool { return !a.c.Connected() && !b.c.Connected() })
	var ids []string
	for _, d := range []*claimDesk{a, b} {
		rc, err := d.dispense(p.ID, 10)
		if err != nil {
			t.Fatalf("%s with the hub down: %v; want it recorded after the local check", d.name, err)
		}
		if !slices.Contains(rc.Record.Rules, record.RuleNotCrossChecked) {
			t.Errorf("%s: rules %v do not mark the dispensing not checked across counters", d.name, rc.Record.Rules)
		}
		warned := slices.ContainsFunc(rc.Decisions, func(x policy.Decision) bool {
			return x.RuleID == record.RuleNotCrossChecked && x.Verdict == policy.Warn && strings.Contains(x.Message, "Not checked across counters")
		})
		if !warned {
			t.Errorf("%s: no warning that the dispensing was not checked across counters: %+v", d.name, rc.Decisions)
		}
		if cc := d.svc.CrossCheck(); cc.Unchecked != 1 || cc.LastError == "" {
			t.Errorf("%s: cross-check %+v; want 1 unchecked", d.name, cc)
		}
		ids = append(ids, rc.Record.ID)
	}
	// A third dispensing is refused by the local check: each counter
	// knows its own.
	if _, err := a.dispense(p.ID, 10); err == nil {
		t.Fatal("counter 1 dispensed past its own journal's count")
	}

	s2, err := Start(context.Background(), Options{Addr: u.Host, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s2.Close)
	waitForClaims(t, "the counters to reconnect", func() bool { return a.c.Connected() && b.c.Connected() })
	a.catchUp(t)
	b.catchUp(t)
	a.catchUp(t)
	for i, d := range []*claimDesk{a, b} {
		e, err := d.j.Outbox(context.Background(), ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if e.State != journal.OutboxConflict || !strings.HasPrefix(e.Conflict, "over-dispensed: 20 dispensed against journal prescription "+p.ID+", which allows 10") ||
			!strings.Contains(e.Conflict, ids[0]) || !strings.Contains(e.Conflict, ids[1]) {
			t.Errorf("%s's dispensing: %s %q; want an over-dispensed conflict naming both", d.name, e.State, e.Conflict)
		}
		if n, _ := d.j.Counts(context.Background()); n.Conflict != 1 {
			t.Errorf("%s: %d conflicts for review, want 1", d.name, n.Conflict)
		}
	}
	// With the hub back, claims are checked again.
	p2 := a.paper(t, 10, 0, 0)
	a.catchUp(t)
	b.catchUp(t)
	if _, err := b.dispense(p2.ID, 10); err != nil {
		t.Fatal(err)
	}
	if cc := b.svc.CrossCheck(); cc.Unchecked != 0 {
		t.Errorf("counter 2 still says %d unchecked after a claim the hub answered", cc.Unchecked)
	}
	if _, err := a.dispense(p2.ID, 10); err == nil || !strings.Contains(err.Error(), "more than the 0 left of journal prescription "+p2.ID) {
		t.Errorf("counter 1 dispensed what counter 2 claimed once the hub was back: %v", err)
	}
}

func waitForClaims(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 15 s for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClaimStateOnTheWire: the claim message holds the running total and
// which dispensing and counter wrote it.
func TestClaimStateOnTheWire(t *testing.T) {
	s := startHub(t, t.TempDir())
	k := newCounter(t, s.URL(), "kassa-1")
	ctx := context.Background()
	res, err := k.c.Claim(ctx, record.Claim{Prescription: "p1", Dispensing: "d2", Quantity: 3, Limit: 10, Known: map[string]int{"d1": 5}})
	if err != nil || !res.OK || res.Claimed != 5 {
		t.Fatalf("claim: %+v, %v", res, err)
	}
	// Claiming it again changes nothing.
	if res, err := k.c.Claim(ctx, record.Claim{Prescription: "p1", Dispensing: "d2", Quantity: 3, Limit: 10}); err != nil || !res.OK {
		t.Fatalf("claim again: %+v, %v", res, err)
	}
	st, _ := k.c.js.Stream(ctx, ClaimsStream)
	m, err := st.GetLastMsgForSubject(ctx, ClaimSubject("p1"))
	if err != nil {
		t.Fatal(err)
	}
	var cs map[string]any
	json.Unmarshal(m.Data, &cs)
	if fmt.Sprint(cs["total"]) != "8" || cs["record"] != "d2" || cs["counter"] != "kassa-1" || m.Sequence != 1 {
		t.Errorf("claim message %s (seq %d)", m.Data, m.Sequence)
	}
	// Voided elsewhere: the claim of d1 no longer counts.
	if res, err := k.c.Claim(ctx, record.Claim{Prescription: "p1", Dispensing: "d3", Quantity: 7, Limit: 10, Voided: []string{"d1"}}); err != nil || !res.OK || res.Claimed != 3 {
		t.Fatalf("claim with d1 voided: %+v, %v", res, err)
	}
}

// TestOverDispensedReachesRunningCounters: as TestHubDownThenOverDispensed,
// with both counters sharing continuously as the counter's screen does
// (Sharer) rather than by a command's catch-up. The over-dispensing is
// found once the hub is back, with no command run at either counter.
func TestOverDispensedReachesRunningCounters(t *testing.T) {
	dir := t.TempDir()
	s := startHub(t, dir)
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	a, b := newClaimDesk(t, s.URL(), "kassa-1"), newClaimDesk(t, s.URL(), "kassa-2")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for _, d := range []*claimDesk{a, b} {
		sh := NewSharer(d.c, d.j)
		sh.Poll = 20 * time.Millisecond
		wg.Add(1)
		go func() { defer wg.Done(); sh.Run(ctx) }()
	}
	p := a.paper(t, 10, 0, 0)
	waitForClaims(t, "the prescription to reach counter 2", func() bool {
		_, err := b.j.GetAny(context.Background(), p.ID)
		return err == nil
	})

	s.Close()
	waitForClaims(t, "the counters to see the hub gone", func() bool { return !a.c.Connected() && !b.c.Connected() })
	var ids []string
	for _, d := range []*claimDesk{a, b} {
		rc, err := d.dispense(p.ID, 10)
		if err != nil || !slices.Contains(rc.Record.Rules, record.RuleNotCrossChecked) {
			t.Fatalf("%s with the hub down: %v, rules %v", d.name, err, rc.Record.Rules)
		}
		ids = append(ids, rc.Record.ID)
	}
	s2, err := Start(context.Background(), Options{Addr: u.Host, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s2.Close)
	for i, d := range []*claimDesk{a, b} {
		waitForClaims(t, d.name+"'s over-dispensed conflict", func() bool {
			e, err := d.j.Outbox(context.Background(), ids[i])
			return err == nil && e.State == journal.OutboxConflict && strings.HasPrefix(e.Conflict, "over-dispensed: ")
		})
	}
}

// TestClaimThroughABlackHole: counter 1 reaches the hub through a proxy
// that stops passing its traffic on, while its connection still looks up.
// Its claim gets no answer within the claim's bound, and the dispensing is
// recorded as not checked across counters. Counter 2, reaching the hub
// directly, claims the same last pack and wins. Once the traffic flows
// again, the two dispensings meet and each counter holds its own as an
// over-dispensed conflict.
func TestClaimThroughABlackHole(t *testing.T) {
	s := startHub(t, t.TempDir())
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	zerolog.SetGlobalLevel(zerolog.Disabled)
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	proxy := toxiproxy.NewProxy(api, "hub", "127.0.0.1:0", u.Host)
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Stop)
	a, b := newClaimDesk(t, "nats://"+proxy.Listen, "kassa-1"), newClaimDesk(t, s.URL(), "kassa-2")
	p := a.paper(t, 10, 0, 0)
	a.catchUp(t)
	b.catchUp(t)

	if _, err := proxy.Toxics.AddToxicJson(strings.NewReader(`{"name":"hole","type":"timeout","stream":"upstream","attributes":{"timeout":0}}`)); err != nil {
		t.Fatal(err)
	}
	ra, err := a.dispense(p.ID, 10)
	if err != nil || !slices.Contains(ra.Record.Rules, record.RuleNotCrossChecked) {
		t.Fatalf("counter 1 through the black hole: %v, rules %v; want it recorded unchecked", err, ra.Record.Rules)
	}
	rb, err := b.dispense(p.ID, 10)
	if err != nil || slices.Contains(rb.Record.Rules, record.RuleNotCrossChecked) {
		t.Fatalf("counter 2, with the hub in reach: %v, rules %v; want it claimed", err, rb.Record.Rules)
	}
	if err := proxy.Toxics.RemoveToxic(context.Background(), "hole"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for _, d := range []*claimDesk{a, b} {
		sh := NewSharer(d.c, d.j)
		sh.Poll = 20 * time.Millisecond
		wg.Add(1)
		go func() { defer wg.Done(); sh.Run(ctx) }()
	}
	for _, c := range []struct {
		d  *claimDesk
		id string
	}{{a, ra.Record.ID}, {b, rb.Record.ID}} {
		deadline := time.Now().Add(45 * time.Second)
		for {
			e, err := c.d.j.Outbox(context.Background(), c.id)
			if err == nil && e.State == journal.OutboxConflict && strings.HasPrefix(e.Conflict, "over-dispensed: ") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s's dispensing is %s %q after 45 s; want an over-dispensed conflict", c.d.name, e.State, e.Conflict)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
