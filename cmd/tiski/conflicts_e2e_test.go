package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// TestConflictsCommands: dispensings against a cancelled and a fully
// dispensed e-prescription go upstream with tiski sync run, come back as
// conflicts, are reviewed with tiski conflicts, and are resolved by a
// pharmacist: one resubmitted with an override, one voided.
func TestConflictsCommands(t *testing.T) {
	srv, err := centresim.Start(context.Background(), centresim.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	r := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "data"), env: []string{"TISKI_PIN=4711"}}
	writeConfig(t, r.data, "[pharmacy]\nname = \"Apteekki Tiski\"\noid = \"1.2.246.10.12345678.10.0\"\n[centre]\nurl = \""+srv.URL()+"\"\ntimeout = \"3s\"\n")
	r.ok("", "users", "add", "aino", "--name", "Aino Virtanen", "--role", "pharmacist", "--registration", "10100012345")
	r.fixtureCatalogue()

	dispense := func(id, patient, prescription, vnr string, qty int) {
		t.Helper()
		file := filepath.Join(t.TempDir(), id+".json")
		b, _ := json.Marshal(map[string]any{"id": id, "patient": patient, "prescription_id": prescription, "vnr": vnr, "quantity": qty, "time": "2026-11-21T10:00:00+02:00"})
		os.WriteFile(file, b, 0o600)
		r.ok("", "record", "dispensing", "--from", file, "--user", "aino")
	}
	const cancelled, completed = "a1000000-0000-4000-8000-000000000001", "a1000000-0000-4000-8000-000000000002"
	dispense(cancelled, "230271-9082", "EP26000801", "990341", 120)
	dispense(completed, "140348-901W", "EP26000104", "990472", 100)

	r.fails(4, "", "", "sync", "run", "--once")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(r.ok("", "conflicts", "list", "--json")), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("conflicts list: %v %v", rows, err)
	}
	kinds := map[string]string{}
	for _, row := range rows {
		kinds[row["id"].(string)] = row["conflict"].(string)
		if p := row["patient"].(string); !strings.Contains(p, "***") {
			t.Errorf("unmasked patient in conflicts list: %v", row)
		}
	}
	if kinds[cancelled] != "cancelled" || kinds[completed] != "dispensed-elsewhere" {
		t.Fatalf("conflict kinds %v", kinds)
	}
	out := r.ok("", "conflicts", "show", cancelled)
	for _, want := range []string{"Conflict   cancelled", "Upstream   EP26000801", "cancelled, 360 of 480 remaining", "--resubmit --reason TEXT"} {
		if !strings.Contains(out, want) {
			t.Errorf("conflicts show does not say %q:\n%s", want, out)
		}
	}

	// Issue 22, criterion (d): with the simulator answering a read by id
	// about another patient, the upstream side shows nothing of it, and
	// says why in the user's words; no identity code is printed.
	if err := srv.SetFault(centresim.Fault{Kind: centresim.FaultWrongPatient}); err != nil {
		t.Fatal(err)
	}
	out = r.ok("", "conflicts", "show", cancelled)
	if !strings.Contains(out, "answered about another patient than the record's") || strings.Contains(out, "of 480 remaining") {
		t.Errorf("conflicts show on the wrong-patient lever:\n%s", out)
	}
	if hetu.MaskText(out) != out {
		t.Errorf("conflicts show prints an identity code:\n%s", out)
	}
	var shown struct {
		Upstream     map[string]any `json:"upstream"`
		UpstreamNote string         `json:"upstream_note"`
	}
	if err := json.Unmarshal([]byte(r.ok("", "conflicts", "show", cancelled, "--json")), &shown); err != nil || len(shown.Upstream) != 0 || !strings.Contains(shown.UpstreamNote, "another patient") {
		t.Errorf("conflicts show --json on the wrong-patient lever: %+v, %v", shown, err)
	}
	if err := srv.SetFault(centresim.Fault{Kind: centresim.FaultUp}); err != nil {
		t.Fatal(err)
	}

	r.fails(2, "exactly one of", "", "conflicts", "resolve", cancelled, "--user", "aino")
	r.fails(1, "reason", "", "conflicts", "resolve", cancelled, "--resubmit", "--user", "aino")
	r.ok("", "conflicts", "resolve", cancelled, "--resubmit", "--reason", "prescriber consulted by phone", "--user", "aino")
	r.ok("", "conflicts", "resolve", completed, "--void", "--reason", "entered in error: handed over from another prescription", "--user", "aino")

	r.ok("", "sync", "run", "--once")
	if out := r.ok("", "conflicts", "list"); !strings.Contains(out, "No conflicts") {
		t.Fatalf("conflicts remain:\n%s", out)
	}
	for id, want := range map[string]int{cancelled: 1, completed: 0} {
		n, err := srv.CountByIdentifier("MedicationDispense", rx.SystemRecordUUID, "urn:uuid:"+id)
		if err != nil || n != want {
			t.Errorf("record %s: %d upstream, want %d (%v)", id, n, want, err)
		}
	}
	// Both resolutions are audit records naming the pharmacist.
	var exported []map[string]any
	json.Unmarshal([]byte(r.ok("", "journal", "export", "--format", "json")), &exported)
	audit := 0
	for _, e := range exported {
		if (e["kind"] == "resolution" || e["kind"] == "void") && e["pharmacist"] == "aino" {
			audit++
		}
	}
	if audit != 2 {
		t.Fatalf("%d resolution records, want 2: %v", audit, exported)
	}
}
