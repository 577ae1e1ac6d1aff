package hub

import (
	"context"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"
)

// freeClusterAddrs returns n loopback addresses with ports free now.
func freeClusterAddrs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

// testCluster is three hubs routed to each other on loopback.
type testCluster struct {
	hubs    []*Server
	cluster []string
	clients []string // each hub's client address, reserved with the cluster's
	dirs    []string
	auth    Auth
}

// startCluster runs three hubs and waits until the pharmacy's streams exist
// with 3 replicas.
func startCluster(t *testing.T, auth Auth) *testCluster {
	t.Helper()
	// The client addresses are reserved with the cluster's, all at once:
	// a client listener on port 0 could be given a cluster port reserved
	// and released here but not yet bound by its hub (CI saw hub-c's
	// client listener take hub-c's own route port).
	addrs := freeClusterAddrs(t, 6)
	tc := &testCluster{cluster: addrs[:3], clients: addrs[3:], auth: auth}
	for range 3 {
		tc.dirs = append(tc.dirs, t.TempDir())
	}
	tc.hubs = make([]*Server, 3)
	for i := range 3 {
		tc.start(t, i)
	}
	for i, s := range tc.hubs {
		select {
		case <-s.Ready():
		case <-time.After(60 * time.Second):
			t.Fatalf("hub %d: the cluster did not form within 60 s", i)
		}
	}
	return tc
}

func (tc *testCluster) start(t *testing.T, i int) {
	t.Helper()
	var routes []string
	for j, a := range tc.cluster {
		if j != i {
			routes = append(routes, "nats-route://"+a)
		}
	}
	s, err := Start(t.Context(), Options{Addr: tc.clients[i], DataDir: tc.dirs[i], Name: "hub-" + string(rune('a'+i)),
		ClusterAddr: tc.cluster[i], Routes: routes, Auth: tc.auth, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	tc.hubs[i] = s
	t.Cleanup(func() {
		if tc.hubs[i] == s {
			s.Close()
		}
	})
}

// stop ends hub i, as a machine that dies.
func (tc *testCluster) stop(i int) {
	tc.hubs[i].Close()
	tc.hubs[i] = nil
}

// urls is hub.url with every hub of the cluster.
func (tc *testCluster) urls() string {
	var us []string
	for _, s := range tc.hubs {
		if s != nil {
			us = append(us, s.URL())
		}
	}
	return strings.Join(us, ",")
}

// waitShared waits until every counter holds want records of each other
// counter and none of its own lane is unshared.
func waitShared(t *testing.T, ks []*counter, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok := true
		for _, k := range ks {
			p := k.peers(t)
			for _, o := range ks {
				if o != k && len(p[o.name]) != want {
					ok = false
				}
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			for _, k := range ks {
				p := k.peers(t)
				var have []string
				for _, o := range ks {
					have = append(have, o.name+":"+itoa(len(p[o.name])))
				}
				st, _ := k.j.Share(context.Background())
				t.Errorf("%s holds %s, %d unshared", k.name, strings.Join(have, " "), st.Unshared)
			}
			t.Fatalf("records did not reach every counter within %s (want %d of each other counter)", within, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exactlyOnce checks that no counter holds a record twice or its own as a
// peer's, and that the stream holds each record once.
func exactlyOnce(t *testing.T, ks []*counter, via *Client, total int) {
	t.Helper()
	for _, k := range ks {
		p := k.peers(t)
		if len(p[k.name]) != 0 {
			t.Errorf("%s keeps %d of its own records as peer records", k.name, len(p[k.name]))
		}
		for name, recs := range p {
			seen := map[string]bool{}
			for _, r := range recs {
				if seen[r.ID] {
					t.Errorf("%s holds %s's record %s twice", k.name, name, r.ID)
				}
				seen[r.ID] = true
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := via.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s := st.Streams[0]; s.Name != RecordsStream || s.Messages != uint64(total) {
		t.Errorf("the hub's %s holds %d records, want %d", s.Name, s.Messages, total)
	}
}

// TestClusterLosesOneHub: three counters connected with every hub's URL
// share through a cluster of three; the hub that leads the records stream
// dies; the counters go on sharing, and the records made after the loss
// reach the others exactly once. The status shows the lost copy.
func TestClusterLosesOneHub(t *testing.T) {
	tc := startCluster(t, Auth{})
	url := tc.urls()
	ks := []*counter{newCounter(t, url, "kassa-1"), newCounter(t, url, "kassa-2"), newCounter(t, url, "takahuone")}
	// kassa-1 talks to the hub that leads the records stream, the one
	// that dies below: the client picks one of hub.url's hubs at random,
	// so connect again until it is that one.
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	st, err := ks[0].c.Status(sctx)
	scancel()
	if err != nil {
		t.Fatal(err)
	}
	leader := st.Streams[0].Leader
	for try := 0; ks[0].c.nc.ConnectedServerName() != leader; try++ {
		if try == 50 {
			t.Fatalf("kassa-1 never connected to %s, the leader", leader)
		}
		ks[0].c.Close()
		if ks[0].c, err = Connect(context.Background(), ClientOptions{URL: url, Counter: "kassa-1", Logf: t.Logf}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(ks[0].c.Close)
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
	defer func() {
		cancel()
		for range ks {
			<-done
		}
	}()
	const before, after = 10, 15
	for i := range before {
		for n, k := range ks {
			k.record(t, "010101-123N", i)
			sharers[n].Kick()
		}
	}
	waitShared(t, ks, before, 30*time.Second)

	sctx, scancel = context.WithTimeout(context.Background(), 10*time.Second)
	st, err = ks[0].c.Status(sctx)
	scancel()
	if err != nil {
		t.Fatal(err)
	}
	rs := st.Streams[0]
	if rs.Replicas != 3 || rs.Leader == "" || len(rs.Peers) != 2 || !rs.Healthy() {
		t.Fatalf("the records stream in a cluster of three: %+v", rs)
	}
	lost := -1
	for i, s := range tc.hubs {
		if s.Name() == rs.Leader {
			lost = i
		}
	}
	if lost < 0 {
		t.Fatalf("no hub is named %s, the stream's leader", rs.Leader)
	}
	if at := ks[0].c.nc.ConnectedServerName(); at != rs.Leader {
		t.Fatalf("kassa-1 is connected to %s, the leader is %s", at, rs.Leader)
	}
	t.Logf("stopping %s, the records stream's leader and kassa-1's hub", rs.Leader)
	tc.stop(lost)

	for i := range after {
		for n, k := range ks {
			k.record(t, "010101-123N", before+i)
			sharers[n].Kick()
		}
	}
	waitShared(t, ks, before+after, 60*time.Second)
	if at := ks[0].c.nc.ConnectedServerName(); at == rs.Leader || !ks[0].c.Connected() {
		t.Errorf("kassa-1 did not move to another hub: connected %v to %q", ks[0].c.Connected(), at)
	}
	exactlyOnce(t, ks, ks[1].c, len(ks)*(before+after))

	// The status tells of the lost hub: a copy offline or behind.
	deadline := time.Now().Add(20 * time.Second)
	for {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err = ks[2].c.Status(sctx)
		scancel()
		if err == nil && st.Streams[0].Leader != "" && !st.Streams[0].Healthy() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the status does not show a hub lost: %+v, %v", st, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(st.Consumers) != 3 {
		t.Errorf("consumers after the loss: %+v", st.Consumers)
	}
	for _, c := range st.Consumers {
		if c.Counter == "" {
			t.Errorf("consumer %s has no counter", c.Name)
		}
	}

	// The machine comes back on its data: it catches up and every copy
	// is current again.
	tc.start(t, lost)
	select {
	case <-tc.hubs[lost].Ready():
	case <-time.After(60 * time.Second):
		t.Fatal("the hub that came back did not find its cluster within 60 s")
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err = ks[1].c.Status(sctx)
		scancel()
		if err == nil && st.Streams[0].Healthy() && len(st.Streams[0].Peers) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the records stream is not whole again 30 s after the hub came back: %+v, %v", st, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := st.Streams[0].Messages; n != uint64(len(ks)*(before+after)) {
		t.Errorf("after the hub came back the stream holds %d records, want %d", n, len(ks)*(before+after))
	}
}

// TestClusterRoutesOverTLS: hubs with TLS files route to each other over
// TLS with their certificates checked, and a counter with a client
// certificate shares through them.
func TestClusterRoutesOverTLS(t *testing.T) {
	pki := newTestPKI(t, "pharmacy CA")
	tc := startCluster(t, pki.hubAuth(t))
	cert, key := pki.issue(t, "kassa-1", x509.ExtKeyUsageClientAuth)
	cert2, key2 := pki.issue(t, "kassa-2", x509.ExtKeyUsageClientAuth)
	// Each counter talks to a different hub: the records cross a route.
	a, err := connectAs(t, tc.hubs[0].URL(), "kassa-1", ClientOptions{CA: pki.CAFile, Cert: cert, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	b, err := connectAs(t, tc.hubs[2].URL(), "kassa-2", ClientOptions{CA: pki.CAFile, Cert: cert2, Key: key2})
	if err != nil {
		t.Fatal(err)
	}
	shareOne(t, a, b)
}
