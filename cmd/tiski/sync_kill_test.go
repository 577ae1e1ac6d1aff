package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// TestSyncRunKilled kills `tiski sync run` with SIGKILL at random moments
// (seeded, so a failure repeats), 36 times, a third of them while the
// simulator drops the connection after committing a write. Records are added
// between the runs. A last run uploads the rest. Then every record is in
// the Prescription Centre exactly once, done in the journal, and the journal
// verifies.
func TestSyncRunKilled(t *testing.T) {
	const kills = 36
	rng := rand.New(rand.NewPCG(4, 2))
	ctx := context.Background()
	sim, err := centresim.Start(ctx, centresim.Config{DataDir: t.TempDir(), Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	data := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	fx, err := rx.LoadFixtures(tiski.Fixtures(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	med := func(id string) rx.Medicine {
		m, ok := fx.Medicine(id)
		if !ok {
			t.Fatalf("no medicine %s", id)
		}
		return m
	}
	var paperPatients []string
	for _, p := range fx.Patients {
		paperPatients = append(paperPatients, p.HETU)
	}
	who := rx.Pharmacist{ID: "aino", Name: "Aino Apteekkari", Registration: "10100012345", Role: rx.RolePharmacist}
	physician := rx.Prescriber{Name: "Anna Korhonen", Registration: "10090004180", Profession: rx.Physician}
	var recs []journal.Record

	// add records a few of every kind to the journal, as the counter would
	// between runs.
	add := func(round int) {
		t.Helper()
		j, err := journal.Open(ctx, filepath.Join(data, "journal.db"), journal.Options{Terminal: "kassa-1"})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		svc := &record.Service{Journal: j, Policy: policy.Default(), Pharmacy: rx.Pharmacy{Name: "Apteekki Tiski", OID: "1.2.246.10.12345678.10.0"}}
		panadol := med("panadol-500mg-tabl")
		for i := range 3 {
			p := fx.Patients[(round*3+i)%len(fx.Patients)]
			rc, err := svc.Dispense(ctx, who, rx.Dispensing{Patient: p.HETU, Medicine: panadol, VNR: "990011", Quantity: 30,
				Essential: true, Basis: rx.BasisPreviousLabel}, record.DispenseOptions{UnitsPerDay: 3, FaultReference: "Kela's notice"})
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, rc.Record)
		}
		// EP26000101 has 400 tablets left: one a round, in sequence, lasts
		// the at most 3×kills rounds the loop below allows.
		rc, err := svc.Dispense(ctx, who, rx.Dispensing{PrescriptionID: "EP26000101", Patient: "140348-901W",
			Medicine: med("metforem-500mg-tabl"), VNR: "990291", Quantity: 1}, record.DispenseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rc.Record)
		// A paper prescription with its dispensing, for another patient
		// each round (two alike would be possible duplicates).
		m := med([]string{"burana-400mg-tabl", "kavepenin-1milj-tabl"}[round/len(paperPatients)%2])
		pk, _ := m.SmallestPackage()
		patient := paperPatients[round%len(paperPatients)]
		prc, err := svc.Paper(ctx, who, rx.Prescription{Patient: patient, Prescriber: physician, Medicine: m,
			Issued: time.Now().AddDate(0, 0, -1), Dosage: "1 a day", Quantity: pk.Size, Repeats: 1, Reason: "the health centre's system was down"},
			&rx.Dispensing{Patient: patient, Medicine: m, VNR: pk.VNR, Quantity: pk.Size})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, prc.Record, *prc.Dispensing)
	}

	env := append(os.Environ(), "TISKI_SYNC_INITIAL_INTERVAL=10ms", "TISKI_SYNC_MAX_INTERVAL=200ms",
		"TISKI_SYNC_LEASE=1s", "TISKI_CENTRE_TIMEOUT=900ms", "TISKI_PROBE_INTERVAL=200ms", "TISKI_SYNC_RATE=1000")
	run := func(kill time.Duration) (string, int) {
		t.Helper()
		cmd := exec.Command(tiskiBin, "sync", "run", "--centre", sim.URL(), "--data", data)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		var err error
		if kill > 0 {
			// Kill while uploading, whatever the machine's speed: wait for
			// the run's first request to reach the simulator, then kill
			// after a random moment.
			seen := len(sim.Requests())
			started := time.Now()
			for len(sim.Requests()) == seen && time.Since(started) < 10*time.Second {
				select {
				case err = <-exited:
					return out.String(), exitCode(t, err)
				case <-time.After(time.Millisecond):
				}
			}
			select {
			case err = <-exited:
			case <-time.After(kill):
				cmd.Process.Signal(syscall.SIGKILL)
				err = <-exited
			}
		} else {
			select {
			case err = <-exited:
			case <-time.After(60 * time.Second):
				cmd.Process.Signal(syscall.SIGKILL)
				t.Fatalf("sync run did not finish in 60 s:\n%s", out.String())
			}
		}
		return out.String(), exitCode(t, err)
	}

	killed := 0
	for round := 0; killed < kills; round++ {
		add(round)
		drop := round%3 == 2
		f := centresim.Fault{Kind: centresim.FaultUp}
		if drop {
			f = centresim.Fault{Kind: centresim.FaultDropAfterCommit, Ratio: 0.5}
		}
		if err := sim.SetFault(f); err != nil {
			t.Fatal(err)
		}
		out, code := run(time.Duration(1+rng.IntN(60)) * time.Millisecond)
		if code == -1 {
			killed++
		} else if code != 0 && code != 3 {
			q, _ := exec.Command(tiskiBin, "conflicts", "list", "--data", data).CombinedOutput()
			t.Fatalf("round %d: sync run exited %d before the kill:\n%s\n%s", round, code, out, q)
		}
		if round > 3*kills {
			t.Fatalf("only %d of %d runs were killed before they finished", killed, round)
		}
	}
	if err := sim.SetFault(centresim.Fault{Kind: centresim.FaultUp}); err != nil {
		t.Fatal(err)
	}
	out, code := run(0)
	if code != 0 {
		t.Fatalf("the last sync run exited %d:\n%s", code, out)
	}
	t.Logf("%d records, %d runs killed; the last run: %s", len(recs), killed, strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:]))

	j, err := journal.Open(ctx, filepath.Join(data, "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for _, r := range recs {
		e, err := j.Outbox(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		rt := "MedicationDispense"
		if r.Kind == journal.KindPaperPrescription {
			rt = "MedicationRequest"
		}
		n, err := sim.CountByIdentifier(rt, rx.SystemRecordUUID, "urn:uuid:"+r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if e.State != journal.OutboxDone || n != 1 {
			t.Errorf("record %s (%s): %s with %d resources upstream, want done and exactly 1", r.ID, r.Kind, e.State, n)
		}
	}
	if out, err := exec.Command(tiskiBin, "journal", "verify", "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("journal verify after %d kills: %v\n%s", killed, err, out)
	}
}

// exitCode is a finished process's exit code, or -1 when a signal ended it.
func exitCode(t *testing.T, err error) int {
	t.Helper()
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -1
		}
		return ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0
}
