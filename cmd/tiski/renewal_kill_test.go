package main

import (
	"bytes"
	"context"
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

// TestSyncRunKilledAfterRenewalCommitted (issue 23): `tiski sync run` sends
// renewal requests to a simulator that commits every write and then cuts
// the connection before answering, and is killed with SIGKILL once the
// simulator has committed a Task for every one of them, none of them
// answered. A last run after recovery settles them all: each renewal is
// done with exactly one Task upstream, found again by its conditional
// create rather than answered as already requested, and the journal
// verifies.
func TestSyncRunKilledAfterRenewalCommitted(t *testing.T) {
	const renewals = 6
	ctx := context.Background()
	sim, err := centresim.Start(ctx, centresim.Config{DataDir: t.TempDir(), Seed: 12})
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
	j, err := journal.Open(ctx, filepath.Join(data, "journal.db"), journal.Options{Terminal: "kassa-1"})
	if err != nil {
		t.Fatal(err)
	}
	svc := &record.Service{Journal: j, Policy: policy.Default(), Pharmacy: rx.Pharmacy{Name: "Apteekki Tiski", OID: "1.2.246.10.12345678.10.0"}}
	who := rx.Pharmacist{ID: "aino", Name: "Aino Apteekkari", Registration: "10100012345", Role: rx.RolePharmacist}
	var recs []journal.Record
	for _, p := range fx.Prescriptions {
		if len(recs) == renewals {
			break
		}
		if p.Status != rx.StatusActive {
			continue
		}
		rc, err := svc.Renew(ctx, who, rx.Renewal{Patient: p.Patient, PrescriptionID: p.ID, Message: "lääke loppuu"})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rc.Record)
	}
	j.Close()
	if len(recs) != renewals {
		t.Fatalf("only %d active fixture prescriptions", len(recs))
	}
	committed := func() int {
		n := 0
		for _, r := range recs {
			c, err := sim.CountByIdentifier("Task", rx.SystemRecordUUID, "urn:uuid:"+r.ID)
			if err != nil {
				t.Fatal(err)
			}
			n += c
		}
		return n
	}

	env := append(os.Environ(), "TISKI_SYNC_INITIAL_INTERVAL=10ms", "TISKI_SYNC_MAX_INTERVAL=200ms",
		"TISKI_SYNC_LEASE=1s", "TISKI_CENTRE_TIMEOUT=900ms", "TISKI_PROBE_INTERVAL=200ms", "TISKI_SYNC_RATE=1000")
	start := func() (*exec.Cmd, *bytes.Buffer, chan error) {
		cmd := exec.Command(tiskiBin, "sync", "run", "--centre", sim.URL(), "--data", data)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		return cmd, &out, exited
	}

	if err := sim.SetFault(centresim.Fault{Kind: centresim.FaultDropAfterCommit, Ratio: 1}); err != nil {
		t.Fatal(err)
	}
	cmd, out, exited := start()
	deadline := time.Now().Add(30 * time.Second)
	for committed() < renewals {
		select {
		case err := <-exited:
			t.Fatalf("sync run ended (exit %d) before the simulator committed every renewal:\n%s", exitCode(t, err), out)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Signal(syscall.SIGKILL)
			t.Fatalf("the simulator committed %d of %d renewals in 30 s:\n%s", committed(), renewals, out)
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	if code := exitCode(t, <-exited); code != -1 {
		t.Fatalf("sync run exited %d, not killed:\n%s", code, out)
	}
	if n := committed(); n != renewals {
		t.Fatalf("%d Tasks for %d renewals after the kill", n, renewals)
	}

	if err := sim.SetFault(centresim.Fault{Kind: centresim.FaultUp}); err != nil {
		t.Fatal(err)
	}
	_, out, exited = start()
	select {
	case err := <-exited:
		if code := exitCode(t, err); code != 0 {
			t.Fatalf("the last sync run exited %d:\n%s", code, out)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the last sync run did not finish in 60 s:\n%s", out)
	}
	if strings.Contains(out.String(), "already requested") {
		t.Errorf("a renewal that landed was taken for another request:\n%s", out)
	}
	j, err = journal.Open(ctx, filepath.Join(data, "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for _, r := range recs {
		e, err := j.Outbox(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := sim.CountByIdentifier("Task", rx.SystemRecordUUID, "urn:uuid:"+r.ID)
		if e.State != journal.OutboxDone || n != 1 || e.UpstreamID == "" {
			t.Errorf("renewal %s: %s (upstream %q) with %d Tasks, want done with exactly 1", r.ID, e.State, e.UpstreamID, n)
		}
	}
	if out, err := exec.Command(tiskiBin, "journal", "verify", "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("journal verify: %v\n%s", err, out)
	}
}
