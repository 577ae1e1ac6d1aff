package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/hub"
	"github.com/tiski-rx/tiski/pkg/journal"
)

// killCounter is a counter of the kill test: its journal, connection and
// sharer, run as the counter runs them.
type killCounter struct {
	name string
	j    *journal.Journal
	c    *hub.Client
	s    *hub.Sharer
	made int
}

// TestHubKilledWhileCountersPublish: three counters record and share
// continuously while the `tiski hub serve` process is killed with SIGKILL
// and started again on its data. Records acknowledged before the kill are
// on the hub's disk (it syncs every write); records made or in flight
// while it was down are shared again after the restart and refused as
// held already when they were. In the end every record of every counter is
// in the stream exactly once and at each other counter exactly once.
func TestHubKilledWhileCountersPublish(t *testing.T) {
	addr := freeAddr(t)
	h := startHubProcess(t, addr, filepath.Join(t.TempDir(), "hub"))
	url := "nats://" + addr

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ks []*killCounter
	var running sync.WaitGroup
	for _, name := range []string{"kassa-1", "kassa-2", "takahuone"} {
		j, err := journal.Open(ctx, filepath.Join(t.TempDir(), "journal.db"), journal.Options{Terminal: name})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		c, err := hub.Connect(ctx, hub.ClientOptions{URL: url, Counter: name, Logf: t.Logf})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		k := &killCounter{name: name, j: j, c: c, s: hub.NewSharer(c, j)}
		k.s.Poll = 20 * time.Millisecond
		running.Add(1)
		go func() { defer running.Done(); k.s.Run(ctx) }()
		ks = append(ks, k)
	}
	defer func() { cancel(); running.Wait() }()

	// record makes a record at every counter for d, one every 10 ms each.
	record := func(d time.Duration) {
		var wg sync.WaitGroup
		for _, k := range ks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for end := time.Now().Add(d); time.Now().Before(end); {
					_, err := k.j.Append(ctx, journal.NewRecord{Kind: journal.KindPaperPrescription, Pharmacist: "aino", Patient: "131052-902Y",
						Body: fmt.Appendf(nil, `{"quantity":%d,"at":%q}`, k.made, k.name), Upload: true})
					if err != nil {
						t.Error(err)
						return
					}
					k.made++
					k.s.Kick()
					time.Sleep(10 * time.Millisecond)
				}
			}()
		}
		wg.Wait()
	}
	record(500 * time.Millisecond)
	// Kill while the counters publish: the recording goes on through it.
	done := make(chan struct{})
	go func() { defer close(done); record(1500 * time.Millisecond) }()
	time.Sleep(300 * time.Millisecond)
	h.kill()
	time.Sleep(500 * time.Millisecond)
	h.start()
	restarted := time.Now()
	<-done
	record(300 * time.Millisecond)
	if t.Failed() {
		return
	}

	total := 0
	for _, k := range ks {
		total += k.made
	}
	t.Logf("records made: %d", total)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok := true
		for _, k := range ks {
			p := peerCounts(t, k.j)
			for _, o := range ks {
				if o != k && p[o.name] < o.made {
					ok = false
				}
			}
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			for _, k := range ks {
				st, _ := k.j.Share(ctx)
				t.Errorf("%s made %d, %d unshared, holds %v", k.name, k.made, st.Unshared, peerCounts(t, k.j))
			}
			t.Fatal("the records did not reach every counter within 60 s of the hub's restart")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Every consumer catches up. Acks sent just before the kill can be
	// lost with it: the hub then delivers those records again once their
	// ack wait (30 s) has passed, and the counters must keep them once.
	var st *hub.HubStatus
	for wait := time.Now().Add(45 * time.Second); ; {
		sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
		var err error
		st, err = ks[0].c.Status(sctx)
		scancel()
		if err != nil {
			t.Fatal(err)
		}
		lag := uint64(0)
		for _, c := range st.Consumers {
			lag += c.Lag()
		}
		if lag == 0 && len(st.Consumers) == len(ks) {
			break
		}
		if time.Now().After(wait) {
			t.Errorf("the consumers have not caught up: %+v", st.Consumers)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("every consumer caught up %s after the restart", time.Since(restarted).Round(100*time.Millisecond))
	// Exactly once at each counter, redelivered records included.
	for _, k := range ks {
		all, err := k.j.List(ctx, journal.Filter{Peers: true})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		n := map[string]int{}
		for _, r := range all {
			if !r.Peer {
				continue
			}
			if seen[r.ID] {
				t.Errorf("%s holds %s's record %s twice", k.name, r.Terminal, r.ID)
			}
			seen[r.ID] = true
			n[r.Terminal]++
		}
		for _, o := range ks {
			if o != k && n[o.name] != o.made {
				t.Errorf("%s holds %d of %s's %d records", k.name, n[o.name], o.name, o.made)
			}
		}
		if n[k.name] != 0 {
			t.Errorf("%s holds %d of its own records as a peer's", k.name, n[k.name])
		}
	}
	// Exactly once in the stream.
	if got := st.Streams[0].Messages; got != uint64(total) {
		t.Errorf("the hub's stream holds %d records, the counters made %d", got, total)
	}
}

// peerCounts is how many peer records j holds of each counter.
func peerCounts(t *testing.T, j *journal.Journal) map[string]int {
	t.Helper()
	all, err := j.List(context.Background(), journal.Filter{Peers: true})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, r := range all {
		if r.Peer {
			n[r.Terminal]++
		}
	}
	return n
}
