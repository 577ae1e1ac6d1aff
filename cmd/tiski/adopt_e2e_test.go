package main

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// TestSyncAdoptThroughBinary: against `tiski hub serve` and the simulator,
// counter kassa-1 records a paper prescription with its dispensing, a
// telephone prescription and an essential dispensing, shares them and
// dies before uploading. At kassa-2, `tiski sync adopt kassa-1` uploads
// them and says which it adopted; the adoption is in tiski.log. Then
// kassa-1 returns and runs `tiski sync run`: every record is done there
// too, and each is in the Prescription Centre exactly once.
func TestSyncAdoptThroughBinary(t *testing.T) {
	srv, err := centresim.Start(context.Background(), centresim.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr := freeAddr(t)
	startHubProcess(t, addr, filepath.Join(t.TempDir(), "hub"))
	env := func(name string) []string {
		return []string{"TISKI_PIN=4711", "TISKI_HUB_URL=nats://" + addr, "TISKI_TERMINAL=" + name}
	}
	a := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "a"), env: env("kassa-1")}
	b := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "b"), env: env("kassa-2")}
	for _, r := range []tiskiRun{a, b} {
		writeConfig(t, r.data, "[pharmacy]\nname = \"Apteekki Tiski\"\noid = \"1.2.246.10.12345678.10.0\"\n[centre]\nurl = \""+srv.URL()+"\"\ntimeout = \"5s\"\n")
		r.ok("", "users", "add", "aino", "--name", "Aino Virtanen", "--role", "pharmacist", "--registration", "10100012345")
		r.fixtureCatalogue()
	}
	a.ok("", "record", "paper", "--from", "testdata/records/paper.json", "--user", "aino")
	a.ok("", "record", "telephone", "--from", "testdata/records/telephone.json", "--user", "aino")
	a.ok("", "record", "dispensing", "--from", "testdata/records/dispensing.json", "--user", "aino")
	// A dispensing against an e-prescription already dispensed in full:
	// the Prescription Centre refuses it, wherever it is sent from.
	const refused = "a1000000-0000-4000-8000-0000000000c1"
	completed := filepath.Join(t.TempDir(), "completed.json")
	body, _ := json.Marshal(map[string]any{"id": refused, "patient": "140348-901W", "prescription_id": "EP26000104", "vnr": "990472",
		"quantity": 100, "time": "2026-11-21T10:00:00+02:00"})
	if err := os.WriteFile(completed, body, 0o600); err != nil {
		t.Fatal(err)
	}
	a.ok("", "record", "dispensing", "--from", completed, "--user", "aino")
	records := map[string]string{ // id: resource type
		"5d0c8a52-2f4e-4b7a-9a57-0c3e1b6f2a10": "MedicationRequest",
		"5d0c8a52-2f4e-4b7a-9a57-0c3e1b6f2a11": "MedicationDispense",
		"7b1e4f0a-93c2-4d55-8e0b-2a6c9d1f3b20": "MedicationRequest",
		"c3a9e6d2-1b7f-4e08-a4d1-6f2b8c0e5d30": "MedicationDispense",
	}
	upstream := func(when string) {
		t.Helper()
		for id, rt := range records {
			n, err := srv.CountByIdentifier(rt, rx.SystemRecordUUID, "urn:uuid:"+id)
			if err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("%s: %s %s is upstream %d times, want 1", when, rt, id, n)
			}
		}
		if n, _ := srv.CountByIdentifier("MedicationDispense", rx.SystemRecordUUID, "urn:uuid:"+refused); n != 0 {
			t.Errorf("%s: the refused dispensing is upstream", when)
		}
	}

	// Bad input: this counter itself, and a counter never heard of.
	b.fails(1, "is this counter", "", "sync", "adopt", "kassa-2")
	b.fails(1, "kassa-1", "", "sync", "adopt", "kassa-9")

	// 4: the refused dispensing waits for a pharmacist here.
	out, code := b.run("", "sync", "adopt", "kassa-1", "--json")
	if code != 4 {
		t.Fatalf("sync adopt --json: exit %d, want 4 (a record for review)\n%s", code, out)
	}
	var res struct {
		Counter string `json:"counter"`
		Adopted []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"adopted"`
		Already int `json:"already"`
		Upload  struct {
			Uploaded int `json:"uploaded"`
		} `json:"upload"`
		Lane []struct {
			RecordID string `json:"record_id"`
			State    string `json:"state"`
			Counter  string `json:"counter"`
		} `json:"lane"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &res); err != nil {
		t.Fatalf("sync adopt --json: %v\n%s", err, out)
	}
	if res.Counter != "kassa-1" || len(res.Adopted) != len(records)+1 || res.Upload.Uploaded != len(records) || len(res.Lane) != len(records)+1 {
		t.Fatalf("sync adopt --json: %+v\n%s", res, out)
	}
	for _, r := range res.Adopted {
		if (records[r.ID] == "" && r.ID != refused) || r.State != "pending" {
			t.Errorf("adopted %+v, not one of kassa-1's records to upload", r)
		}
	}
	for _, e := range res.Lane {
		want := "done"
		if e.RecordID == refused {
			want = "conflict"
		}
		if e.State != want || e.Counter != "kassa-1" {
			t.Errorf("adopted record %+v, want %s", e, want)
		}
	}
	upstream("after kassa-2 adopted kassa-1's uploads")
	logText, err := os.ReadFile(filepath.Join(b.data, "tiski.log"))
	if err != nil {
		t.Fatal(err)
	}
	var audit string
	for _, l := range strings.Split(string(logText), "\n") {
		var line struct{ Msg, Counter, By, Records string }
		if json.Unmarshal([]byte(l), &line) == nil && line.Msg == "sync adopt" && line.Counter == "kassa-1" && line.By != "" {
			audit = line.Records
		}
	}
	for _, id := range append(slices.Collect(maps.Keys(records)), refused) {
		if !strings.Contains(audit, id) {
			t.Errorf("tiski.log has no adoption naming %s:\n%s", id, logText)
		}
	}
	// Adopting again adopts nothing new; the conflict stays for review.
	out, code = b.run("", "sync", "adopt", "kassa-1")
	if code != 4 || !strings.Contains(out, "Adopted 0 records of counter kassa-1") || !strings.Contains(out, "5 were adopted earlier") ||
		!strings.Contains(out, "4 done") || !strings.Contains(out, "1 need a pharmacist's review") {
		t.Fatalf("second sync adopt: exit %d\n%s", code, out)
	}
	out, code = b.run("", "sync", "adopt", "kassa-1", "--list")
	if code != 4 || !strings.Contains(out, refused) || !strings.Contains(out, "EP26000104") {
		t.Fatalf("sync adopt --list does not show the conflict: exit %d\n%s", code, out)
	}
	// The pharmacists' review at this counter lists it, naming its counter.
	var review []struct {
		ID, Counter string
	}
	out = b.ok("", "conflicts", "list", "--json")
	if err := json.Unmarshal([]byte(out), &review); err != nil {
		t.Fatalf("conflicts list: %v\n%s", err, out)
	}
	if len(review) != 1 || review[0].ID != refused || review[0].Counter != "kassa-1" {
		t.Fatalf("conflicts list at the adopting counter: %+v, want the adopted refusal of kassa-1", review)
	}
	// Sent again on IT's word: refused again, still for review.
	out, code = b.run("", "sync", "adopt", "kassa-1", "--retry", refused)
	if code != 4 || !strings.Contains(out, "conflict dispensing "+refused) {
		t.Fatalf("sync adopt --retry: exit %d\n%s", code, out)
	}

	// kassa-1 comes back and uploads its own outbox: all found upstream.
	a.fails(4, "", "", "sync", "run")
	var st struct {
		Done     int64 `json:"done"`
		Pending  int64 `json:"pending"`
		Conflict int64 `json:"conflict"`
	}
	out, _ = a.run("", "sync", "status", "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if st.Done != int64(len(records)) || st.Pending != 0 || st.Conflict != 1 {
		t.Fatalf("kassa-1 after its return: %+v, want its %d records done", st, len(records))
	}
	upstream("after kassa-1 returned and synced")
}
