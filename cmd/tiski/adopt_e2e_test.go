package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
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
	}
	a.ok("", "record", "paper", "--from", "testdata/records/paper.json", "--user", "aino")
	a.ok("", "record", "telephone", "--from", "testdata/records/telephone.json", "--user", "aino")
	a.ok("", "record", "dispensing", "--from", "testdata/records/dispensing.json", "--user", "aino")
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
	}

	// Bad input: this counter itself, and a counter never heard of.
	b.fails(1, "is this counter", "", "sync", "adopt", "kassa-2")
	b.fails(1, "kassa-1", "", "sync", "adopt", "kassa-9")

	out := b.ok("", "sync", "adopt", "kassa-1", "--json")
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
	if res.Counter != "kassa-1" || len(res.Adopted) != len(records) || res.Upload.Uploaded != len(records) || len(res.Lane) != len(records) {
		t.Fatalf("sync adopt --json: %+v\n%s", res, out)
	}
	for _, r := range res.Adopted {
		if records[r.ID] == "" || r.State != "pending" {
			t.Errorf("adopted %+v, not one of kassa-1's records to upload", r)
		}
	}
	for _, e := range res.Lane {
		if e.State != "done" || e.Counter != "kassa-1" {
			t.Errorf("adopted record %+v, want done", e)
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
	for id := range records {
		if !strings.Contains(audit, id) {
			t.Errorf("tiski.log has no adoption naming %s:\n%s", id, logText)
		}
	}
	// Adopting again adopts nothing new; the list shows them done.
	out = b.ok("", "sync", "adopt", "kassa-1")
	if !strings.Contains(out, "Adopted 0 records of counter kassa-1") || !strings.Contains(out, "4 were adopted earlier") ||
		!strings.Contains(out, "4 done") {
		t.Fatalf("second sync adopt:\n%s", out)
	}

	// kassa-1 comes back and uploads its own outbox: all found upstream.
	a.ok("", "sync", "run")
	var st struct {
		Done    int64 `json:"done"`
		Pending int64 `json:"pending"`
	}
	if err := json.Unmarshal([]byte(a.ok("", "sync", "status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Done != int64(len(records)) || st.Pending != 0 {
		t.Fatalf("kassa-1 after its return: %+v, want its %d records done", st, len(records))
	}
	upstream("after kassa-1 returned and synced")
}
