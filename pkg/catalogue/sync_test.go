package catalogue

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/rx"
)

func startCatalogueSim(t testing.TB) *centresim.Server {
	t.Helper()
	sim, err := centresim.Start(context.Background(), centresim.Config{DataDir: t.TempDir(), Seed: 7, Fixtures: tiski.Fixtures(), Catalogue: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

func centreClient(t testing.TB, base string, pageSize int) *centre.Client {
	t.Helper()
	c, err := centre.New(centre.Config{BaseURL: base, PageSize: pageSize})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// medicationReads counts the simulator's Medication searches and pages.
func medicationReads(sim *centresim.Server) int {
	n := 0
	for _, r := range sim.Requests() {
		if strings.HasPrefix(r.Path, "/Medication") {
			n++
		}
	}
	return n
}

func TestSyncPagedThenIncremental(t *testing.T) {
	ctx := context.Background()
	sim := startCatalogueSim(t)
	c := centreClient(t, sim.URL(), 500)
	path := filepath.Join(t.TempDir(), FileName)

	start := time.Now()
	first, err := Sync(ctx, path, FromCentre(c, 0), SyncOptions{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("full sync of %d packages in %d pages: %v", first.Fetched, first.Pages, time.Since(start))
	if !first.Full || first.Fetched < 14000 || first.Changed != first.Fetched || first.Withdrawn != 0 {
		t.Fatalf("first sync %+v: want full, ~15,000 fetched, all changed", first)
	}
	if want := (first.Fetched + 499) / 500; first.Pages != want || medicationReads(sim) != want {
		t.Errorf("first sync: %d pages, %d requests to the server; want %d of 500", first.Pages, medicationReads(sim), want)
	}
	cat, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	info, err := cat.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Source != SourceFHIR || info.Count != first.Fetched || info.HighWater.IsZero() {
		t.Fatalf("after the first sync: %+v", info)
	}
	// The fixtures' medicines are there with their classes, so the demo's
	// prescriptions still find theirs.
	if p, err := cat.ByVNR(ctx, "990051"); err != nil || p.Name != "OxyNorm" || !ClassGiven(p.NarcoticClass) {
		t.Errorf("fixture OxyNorm 990051: %+v, %v", p, err)
	}

	changed, err := sim.ChangeCatalogue(centresim.CatalogueChange{Update: 3, Add: 2, Withdraw: 2})
	if err != nil {
		t.Fatal(err)
	}
	// One package the lever left alone, to see that it is untouched.
	var untouched Package
	if found, err := cat.Search(ctx, "Simvastatin Krka", 1); err != nil || len(found) != 1 {
		t.Fatalf("Simvastatin Krka: %v, %v", found, err)
	} else {
		untouched = found[0]
	}
	before := medicationReads(sim)
	start = time.Now()
	second, err := Sync(ctx, path, FromCentre(c, 0), SyncOptions{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("incremental sync of %d changes: %v", second.Fetched, time.Since(start))
	if second.Full || second.Fetched != 7 || second.Changed != 5 || second.Withdrawn != 2 || second.Pages != 1 {
		t.Fatalf("incremental sync %+v: want 7 fetched (3 updated, 2 added, 2 withdrawn) on 1 page", second)
	}
	if n := medicationReads(sim) - before; n != 1 {
		t.Errorf("incremental sync made %d requests, want 1", n)
	}
	if got, want := second.Info.Count, first.Fetched+2-2; got != want {
		t.Errorf("count after the incremental sync %d, want %d", got, want)
	}
	if !second.Info.HighWater.After(info.HighWater) {
		t.Errorf("high-water mark %v, not after %v", second.Info.HighWater, info.HighWater)
	}
	for _, vnr := range changed.Withdrawn {
		if _, err := cat.ByVNR(ctx, vnr); rx.ErrorCode(err) != rx.ENOTFOUND {
			t.Errorf("withdrawn %s: %v, want not found", vnr, err)
		}
	}
	for _, vnr := range changed.Updated {
		if p, err := cat.ByVNR(ctx, vnr); err != nil || !strings.HasSuffix(p.Name, " uusi") {
			t.Errorf("updated %s: %+v, %v", vnr, p, err)
		}
	}
	for _, vnr := range changed.Added {
		if p, err := cat.ByVNR(ctx, vnr); err != nil || p.SubstitutionGroup == "" || p.Size == 0 {
			t.Errorf("added %s: %+v, %v", vnr, p, err)
		}
	}
	if p, err := cat.ByVNR(ctx, untouched.VNR); err != nil || p != untouched {
		t.Errorf("untouched %s now %+v, %v; was %+v", untouched.VNR, p, err, untouched)
	}

	// Nothing changed: one request, nothing fetched, the same packages.
	third, err := Sync(ctx, path, FromCentre(c, 0), SyncOptions{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if third.Full || third.Fetched != 0 || third.Changed != 0 || third.Info.Count != second.Info.Count || !third.Info.HighWater.Equal(second.Info.HighWater) {
		t.Errorf("sync with nothing new: %+v", third)
	}
	// --full takes it all again.
	full, err := Sync(ctx, path, FromCentre(c, 0), SyncOptions{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if !full.Full || full.Info.Count != second.Info.Count || full.Fetched != first.Fetched+2 {
		t.Errorf("--full: %+v", full)
	}
}

func TestSyncAfterAnotherSourceIsFull(t *testing.T) {
	ctx := context.Background()
	sim := startCatalogueSim(t)
	c := centreClient(t, sim.URL(), 0)
	path := filepath.Join(t.TempDir(), FileName)
	src := filepath.Join(t.TempDir(), "fimea.txt")
	if err := os.WriteFile(src, []byte("SUBSTITUUTIORYHMA;VNRNRO;PAKKAUSKOKO;RESEPTISTATUS;LAAKENIMI;VAHVUUS\n1;123456;30 fol;R;Imported;1 mg\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ImportFimea(ctx, path, src, FimeaOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := Sync(ctx, path, FromCentre(c, 0), SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Full || res.Info.Count < 14000 || res.Info.Source != SourceFHIR {
		t.Errorf("sync after a Fimea import: %+v, want a full sync", res)
	}
}

// hostileProxy serves the simulator's answers, but spoils the page number
// spoil (1-based) of each Medication read as how says.
func hostileProxy(t *testing.T, sim *centresim.Server, spoil int, how func(w http.ResponseWriter, body []byte)) *httptest.Server {
	t.Helper()
	target, _ := url.Parse(sim.URL())
	var page atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := *target
		u.Path, u.RawQuery = r.URL.Path, r.URL.RawQuery
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, u.String(), r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		// The links name the simulator; they must name this proxy.
		body = bytes.ReplaceAll(body, []byte(sim.URL()), []byte(srv.URL))
		if strings.HasPrefix(r.URL.Path, "/Medication") && int(page.Add(1)) == spoil {
			how(w, body)
			return
		}
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSyncRefusesASpoiledPageAndKeepsTheOldCatalogue(t *testing.T) {
	ctx := context.Background()
	sim := startCatalogueSim(t)
	cases := []struct {
		name string
		how  func(w http.ResponseWriter, body []byte)
	}{
		{"cut off mid-page", func(w http.ResponseWriter, body []byte) {
			w.Header().Set("Content-Length", "999999")
			w.WriteHeader(200)
			w.Write(body[:len(body)/2])
		}},
		{"not JSON", func(w http.ResponseWriter, body []byte) {
			w.WriteHeader(200)
			w.Write(body[:len(body)/2])
		}},
		{"pages end early", func(w http.ResponseWriter, body []byte) {
			w.WriteHeader(200)
			w.Write(bytes.Replace(body, []byte(`"relation":"next"`), []byte(`"relation":"previous"`), 1))
		}},
		{"next link to another server", func(w http.ResponseWriter, body []byte) {
			w.WriteHeader(200)
			i := bytes.Index(body, []byte(`"relation":"next","url":"http://127.0.0.1:`))
			if i < 0 {
				t.Error("no next link to spoil")
			}
			w.Write(bytes.Replace(body, []byte(`"relation":"next","url":"http://127.0.0.1:`), []byte(`"relation":"next","url":"http://127.0.0.2:`), 1))
		}},
		{"a Medication without a VNR", func(w http.ResponseWriter, body []byte) {
			w.WriteHeader(200)
			w.Write(bytes.Replace(body, []byte(rx.SystemVNR), []byte("urn:oid:1.2.3"), 1))
		}},
		{"service down", func(w http.ResponseWriter, body []byte) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(503)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			old, err := Replace(ctx, path, Info{Source: SourceFixtures, Version: "old", Date: time.Now()},
				[]Package{{VNR: "990011", Name: "Panadol"}})
			if err != nil {
				t.Fatal(err)
			}
			proxy := hostileProxy(t, sim, 3, tc.how)
			c := centreClient(t, proxy.URL, 500)
			res, err := Sync(ctx, path, FromCentre(c, 0), SyncOptions{})
			if err == nil {
				t.Fatalf("sync through a spoiled page succeeded: %+v", res)
			}
			if !strings.Contains(err.Error(), "The catalogue was not changed") {
				t.Errorf("error %q does not say the catalogue was not changed", err)
			}
			t.Logf("%s: %v", tc.name, err)
			cat, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer cat.Close()
			info, err := cat.Info(ctx)
			if err != nil || info.Version != old.Version || info.Count != 1 {
				t.Errorf("after the failed sync: %+v, %v; want the old catalogue", info, err)
			}
			if p, err := cat.ByVNR(ctx, "990011"); err != nil || p.Name != "Panadol" {
				t.Errorf("the old catalogue does not answer: %+v, %v", p, err)
			}
		})
	}
}
