package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/journal"
)

// counter is one counter of a test pharmacy: its journal and its
// connection to the hub.
type counter struct {
	name string
	j    *journal.Journal
	c    *Client
}

func newCounter(t *testing.T, url, name string) *counter {
	t.Helper()
	j, err := journal.Open(context.Background(), filepath.Join(t.TempDir(), "journal.db"), journal.Options{Terminal: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	c, err := Connect(context.Background(), ClientOptions{URL: url, Counter: name, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &counter{name: name, j: j, c: c}
}

func (k *counter) record(t *testing.T, patient string, n int) journal.Record {
	t.Helper()
	r, err := k.j.Append(context.Background(), journal.NewRecord{Kind: journal.KindPaperPrescription, Pharmacist: "aino", Patient: patient,
		Body: fmt.Appendf(nil, `{"quantity":%d,"at":%q}`, n, k.name), Upload: true})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// peers returns the peer records of k by counter.
func (k *counter) peers(t *testing.T) map[string][]journal.Record {
	t.Helper()
	all, err := k.j.List(context.Background(), journal.Filter{Peers: true})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]journal.Record{}
	for _, r := range all {
		if r.Peer {
			out[r.Terminal] = append(out[r.Terminal], r)
		}
	}
	return out
}

// TestThreeCountersShareOneHub: records made at each of three counters,
// running their sharers as the counter does, reach the other two exactly
// once, including records made while the sharers already ran and records
// made before.
func TestThreeCountersShareOneHub(t *testing.T) {
	s := startHub(t, t.TempDir())
	ks := []*counter{newCounter(t, s.URL(), "kassa-1"), newCounter(t, s.URL(), "kassa-2"), newCounter(t, s.URL(), "takahuone")}
	const before, during = 5, 20
	for _, k := range ks {
		for i := range before {
			k.record(t, "131052-902Y", i)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{}, len(ks))
	sharers := make([]*Sharer, len(ks))
	for i, k := range ks {
		sharers[i] = NewSharer(k.c, k.j)
		sharers[i].Poll = 20 * time.Millisecond
		go func() { sharers[i].Run(ctx); done <- struct{}{} }()
	}
	for i := range during {
		for n, k := range ks {
			k.record(t, "010101-123N", i)
			sharers[n].Kick()
		}
	}
	want := before + during
	waitShared(t, ks, want, 20*time.Second)
	cancel()
	for range ks {
		<-done
	}
	for _, k := range ks {
		p := k.peers(t)
		if len(p[k.name]) != 0 {
			t.Errorf("%s keeps %d of its own records as peer records", k.name, len(p[k.name]))
		}
		for name, recs := range p {
			seen := map[string]bool{}
			for i, r := range recs {
				if seen[r.ID] {
					t.Errorf("%s holds %s's record %s twice", k.name, name, r.ID)
				}
				seen[r.ID] = true
				var b struct{ At string }
				json.Unmarshal(r.Body, &b)
				if b.At != name {
					t.Errorf("%s: record %d of %s says it was made at %s", k.name, i, name, b.At)
				}
			}
		}
		if st, _ := k.j.Share(context.Background()); st.Unshared != 0 {
			t.Errorf("%s has %d records unshared", k.name, st.Unshared)
		}
	}
	// The hub holds each record once.
	st, err := ks[0].c.JetStream().Stream(context.Background(), RecordsStream)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().State.Msgs; n != uint64(len(ks)*want) {
		t.Errorf("the hub holds %d records, want %d", n, len(ks)*want)
	}
	// Each counter announced itself.
	states, err := ks[0].c.Counters(context.Background())
	if err != nil || len(states) != len(ks) {
		t.Errorf("counters bucket: %+v, %v", states, err)
	}
}

// TestCatchUp: a command's bounded catch-up shares what its lane holds and
// receives what the others shared, and a crash between publishing and
// marking the lane (the mark lost) republishes nothing twice.
func TestCatchUp(t *testing.T) {
	s := startHub(t, t.TempDir())
	a, b := newCounter(t, s.URL(), "kassa-1"), newCounter(t, s.URL(), "kassa-2")
	for i := range 3 {
		a.record(t, "131052-902Y", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := a.c.CatchUp(ctx, a.j)
	if err != nil || r.Shared != 3 {
		t.Fatalf("counter 1 catch-up: %+v, %v", r, err)
	}
	// The crash: counter 1 forgets that it shared (an older copy of its
	// lane), and shares again.
	if _, err := a.c.nc.Request("$JS.API.STREAM.INFO."+RecordsStream, nil, time.Second); err != nil {
		t.Fatal(err)
	}
	tail, _ := a.j.List(ctx, journal.Filter{})
	for _, rec := range tail {
		b, _ := json.Marshal(journal.SharedRecord{Record: rec})
		if _, err := a.c.js.Publish(ctx, RecordSubject("kassa-1", rec.ID), b); err == nil || !alreadyShared(err) {
			t.Fatalf("a republished record was not refused as shared already: %v", err)
		}
	}
	r, err = b.c.CatchUp(ctx, b.j)
	if err != nil || r.Received != 3 || !r.Complete {
		t.Fatalf("counter 2 catch-up: %+v, %v", r, err)
	}
	if p := b.peers(t); len(p["kassa-1"]) != 3 {
		t.Fatalf("counter 2 holds %d of counter 1's records", len(p["kassa-1"]))
	}
	r, err = b.c.CatchUp(ctx, b.j)
	if err != nil || r.Received != 0 || !r.Complete {
		t.Fatalf("counter 2's second catch-up: %+v, %v", r, err)
	}
}

// TestUnreachableHub: a hub that does not answer is said so, in words IT
// can act on.
func TestUnreachableHub(t *testing.T) {
	_, err := Connect(context.Background(), ClientOptions{URL: "nats://127.0.0.1:1", Counter: "kassa-1", ConnectTimeout: 500 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "hub at nats://127.0.0.1:1 cannot be reached") || !strings.Contains(err.Error(), "tiski doctor") {
		t.Fatalf("connect to nothing: %v", err)
	}
}
