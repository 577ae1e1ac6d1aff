package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// TestRenewalCommands walks issue 23's renewal requests through the real
// binary and the simulator: a student may not request; a renewal made in
// FAULT waits while the Prescription Centre is down and reaches it exactly
// once after recovery, and then shows on the prescription in the same
// answer as the prescription; a second request for the same prescription is
// answered as already requested without a review; a renewal of a
// prescription cancelled meanwhile is a renewal-refused conflict, which a
// pharmacist closes by voiding it. The kind shows in queue list, conflicts
// and journal export.
func TestRenewalCommands(t *testing.T) {
	srv, err := centresim.Start(context.Background(), centresim.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	r := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "data"), env: []string{"TISKI_PIN=4711"}}
	writeConfig(t, r.data, "[pharmacy]\nname = \"Apteekki Tiski\"\noid = \"1.2.246.10.12345678.10.0\"\n[centre]\nurl = \""+srv.URL()+"\"\ntimeout = \"2s\"\n")
	r.ok("", "users", "add", "aino", "--name", "Aino Virtanen", "--role", "pharmacist", "--registration", "10100012345")
	r.ok("", "users", "add", "olli", "--name", "Olli Opiskelija", "--role", "student")
	const example = "0193f2a4-6c1e-7b3d-9e52-4f8a1c2d3e70" // testdata/records/renewal.json
	tasks := func(id string) int {
		t.Helper()
		n, err := srv.CountByIdentifier("Task", rx.SystemRecordUUID, "urn:uuid:"+id)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	r.fails(1, "may look but not record", "", "record", "renewal", "--from", "testdata/records/renewal.json", "--user", "olli")

	// The fault: Kela's notice puts the counter in FAULT, and the
	// Prescription Centre does not answer.
	r.ok("", "mode", "fault", "--reason", "Kela's notice of a fault")
	if err := srv.SetFault(centresim.Fault{Kind: centresim.FaultDown}); err != nil {
		t.Fatal(err)
	}
	out := r.ok("", "record", "renewal", "--from", "testdata/records/renewal.json", "--user", "aino")
	if !strings.Contains(out, example) {
		t.Fatalf("record renewal does not name the record:\n%s", out)
	}
	// Re-running the same file records nothing new.
	if out := r.ok("", "record", "renewal", "--from", "testdata/records/renewal.json", "--user", "aino"); !strings.Contains(out, "already") {
		t.Errorf("re-running the example:\n%s", out)
	}
	if out, code := r.run("", "sync", "run", "--once"); code != 3 && code != 5 {
		t.Fatalf("sync run in the fault: exit %d, want 3 or 5\n%s", code, out)
	}
	if n := tasks(example); n != 0 {
		t.Fatalf("%d Tasks upstream during the fault", n)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(r.ok("", "queue", "list", "--json")), &rows); err != nil || len(rows) != 1 || rows[0]["kind"] != "renewal" {
		t.Fatalf("queue list during the fault: %v %v", rows, err)
	}

	// Recovery: the renewal goes upstream, once.
	if err := srv.SetFault(centresim.Fault{Kind: centresim.FaultUp}); err != nil {
		t.Fatal(err)
	}
	r.ok("", "mode", "auto")
	r.ok("", "sync", "run")
	r.ok("", "sync", "run")
	if n := tasks(example); n != 1 {
		t.Fatalf("%d Tasks for the renewal after recovery, want exactly 1", n)
	}
	var exported []map[string]any
	if err := json.Unmarshal([]byte(r.ok("", "journal", "export", "--format", "json")), &exported); err != nil {
		t.Fatal(err)
	}
	madeIn := ""
	for _, e := range exported {
		if e["id"] == example {
			madeIn, _ = e["mode"].(string)
			if e["kind"] != "renewal" {
				t.Errorf("exported as %v", e["kind"])
			}
		}
	}
	if madeIn != string(rx.ModeFault) {
		t.Errorf("the renewal was made in %q, want FAULT", madeIn)
	}
	c, err := centre.New(centre.Config{BaseURL: srv.URL(), Pharmacy: rx.Pharmacy{Name: "Apteekki Tiski", OID: "1.2.246.10.12345678.10.0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := c.Prescription(ctx, "EP26000101", "140348-901W")
	if err != nil || p.Renewal == nil || p.Renewal.Requested.Format(time.DateOnly) != "2026-12-07" {
		t.Fatalf("EP26000101 after recovery: renewal %+v, %v", p.Renewal, err)
	}

	// A second request for the same prescription, from standard input.
	const second = "0193f2a4-6c1e-7b3d-9e52-4f8a1c2d3e71"
	r.ok(`{"id":"`+second+`","patient":"140348-901W","prescription_id":"EP26000101"}`, "record", "renewal", "--from", "-", "--user", "aino")
	out = r.ok("", "sync", "run")
	if !strings.Contains(out, "already requested") || !strings.Contains(out, second) {
		t.Errorf("sync run does not say the renewal was already requested:\n%s", out)
	}
	if n := tasks(second); n != 0 {
		t.Errorf("the already-requested renewal made %d Tasks", n)
	}
	if out := r.ok("", "conflicts", "list"); !strings.Contains(out, "No conflicts") {
		t.Errorf("already requested went to review:\n%s", out)
	}

	// The prescriber cancels EP26000102 before the request arrives.
	if err := srv.CancelPrescription("EP26000102"); err != nil {
		t.Fatal(err)
	}
	const refused = "0193f2a4-6c1e-7b3d-9e52-4f8a1c2d3e72"
	r.ok(`{"id":"`+refused+`","patient":"140348-901W","prescription_id":"EP26000102","message":"Tarvitsen lisää."}`, "record", "renewal", "--from", "-", "--user", "aino")
	r.fails(4, "renewal-refused", "", "sync", "run")
	rows = nil
	if err := json.Unmarshal([]byte(r.ok("", "conflicts", "list", "--json")), &rows); err != nil || len(rows) != 1 ||
		rows[0]["id"] != refused || rows[0]["conflict"] != "renewal-refused" || rows[0]["record_kind"] != "renewal" || rows[0]["prescription"] != "EP26000102" {
		t.Fatalf("conflicts list: %v %v", rows, err)
	}
	if out := r.ok("", "conflicts", "list", "--lang", "fi"); !strings.Contains(out, "uusimispyyntö hylätty") {
		t.Errorf("conflicts list in Finnish does not name the conflict:\n%s", out)
	}
	if out := r.ok("", "conflicts", "show", refused); !strings.Contains(out, "cancelled") {
		t.Errorf("conflicts show does not say why:\n%s", out)
	}
	r.fails(1, "voiding", "", "conflicts", "resolve", refused, "--resubmit", "--reason", "try again", "--user", "aino")
	r.ok("", "conflicts", "resolve", refused, "--void", "--reason", "patient told to contact the prescriber", "--user", "aino")
	r.ok("", "sync", "run")
	if out := r.ok("", "conflicts", "list"); !strings.Contains(out, "No conflicts") {
		t.Errorf("conflicts remain:\n%s", out)
	}
	if n := tasks(refused); n != 0 {
		t.Errorf("the refused renewal made %d Tasks", n)
	}
}
