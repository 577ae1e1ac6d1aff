package triage

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/hetu"
)

// TestWrongPatientIsKanta (issue 22, criterion (d)): real calls of a real
// client, through the Recorder into a real journal's fault log, on the
// simulator's wrong-patient lever: a search, a listing and a read by id
// each answered about another patient. Triage says kanta, counts them in
// Result.WrongPatient, names the count and the operations in its evidence,
// and nowhere an identity code. Before the lever, nothing is counted.
func TestWrongPatientIsKanta(t *testing.T) {
	t.Parallel()
	dir := certDir(t, centresim.CertOptions{})
	srv := startSim(t, dir)
	j := openJournal(t)
	const patient = "140348-901W" // Matti of the bundled fixtures, EP26000101's patient
	ask := func(t *testing.T) {
		t.Helper()
		rec := newRecorder(j, 20*time.Millisecond)
		c, err := centre.New(centre.Config{BaseURL: srv.URL(), Pharmacy: testPharmacy, Observer: rec.Observe, Timeout: 5 * time.Second,
			TLS: &centre.TLSConfig{CertFile: filepath.Join(dir, "client.crt"), KeyFile: filepath.Join(dir, "client.key"), CAFile: filepath.Join(dir, "ca.crt")}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx := context.Background()
		_, _ = c.FindPatient(ctx, patient)
		_, _ = c.Prescriptions(ctx, patient)
		_, _ = c.Prescription(ctx, "EP26000101", patient)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		rec.Close(cctx)
	}
	ask(t)
	r := Run(context.Background(), config(srv.URL(), dir, dir, j))
	expect(t, r, None)
	if r.WrongPatient != 0 {
		t.Fatalf("WrongPatient %d with no fault", r.WrongPatient)
	}

	if err := srv.SetFault(centresim.Fault{Kind: centresim.FaultWrongPatient}); err != nil {
		t.Fatal(err)
	}
	ask(t)
	r = Run(context.Background(), config(srv.URL(), dir, dir, j))
	expect(t, r, Kanta, "calls: 3 recent calls answered about another patient than the one asked for (1 read, 2 search)", "patient privacy may be at risk")
	if r.WrongPatient != 3 {
		t.Fatalf("WrongPatient %d, want 3", r.WrongPatient)
	}
	if s := stepNamed(r, "calls"); s == nil || s.Class != WrongPatientClass {
		t.Fatalf("calls step %+v, want class %s", s, WrongPatientClass)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if out := string(b); hetu.MaskText(out) != out {
		t.Fatalf("the triage names an identity code: %s", out)
	}
}
