package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// syncStatusJSON runs `tiski sync status --json` and decodes it; the exit
// code is the queue's.
func syncStatusJSON(t *testing.T, r tiskiRun) map[string]any {
	t.Helper()
	out, _ := r.run("", "sync", "status", "--json")
	if i := strings.Index(out, "{"); i > 0 { // a warning before the JSON
		out = out[i:]
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("sync status --json: %v\n%s", err, out)
	}
	return v
}

// TestSyncStatusHub (issue 19): `tiski sync status` shows the hub's state,
// this counter's records not yet shared, and each other counter with its
// mode, last contact and pending count from the hub and the records this
// journal holds of it; with the hub down it says so and still lists what
// the journal holds; without a hub the section says none is configured.
func TestSyncStatusHub(t *testing.T) {
	addr := freeAddr(t)
	h := startHubProcess(t, addr, filepath.Join(t.TempDir(), "hub"))
	a, b := counterRun(t, "kassa-1", "nats://"+addr, ""), counterRun(t, "kassa-2", "nats://"+addr, "")
	a.ok("", "mode", "fault", "--reason", "the network of counter 1 is down")
	a.ok("", "record", "paper", "--from", "testdata/records/paper.json", "--user", "aino")
	if hub := syncStatusJSON(t, a)["hub"].(map[string]any); hub["unshared"].(float64) != 0 || hub["reachable"] != true {
		t.Fatalf("counter A after it shared: hub %v", hub)
	}

	s := syncStatusJSON(t, b)
	hub := s["hub"].(map[string]any)
	if hub["configured"] != true || hub["reachable"] != true || hub["url"] != "nats://"+addr || hub["unshared"].(float64) != 0 {
		t.Errorf("counter B: hub %v", hub)
	}
	counters := hub["counters"].([]any)
	if len(counters) != 1 {
		t.Fatalf("counter B lists counters %v, want kassa-1 only", counters)
	}
	c := counters[0].(map[string]any)
	if c["counter"] != "kassa-1" || c["mode"] != "FAULT" || c["last_contact"] == nil || c["pending"].(float64) != 2 ||
		c["records_here"].(float64) != 3 || c["last_received"] == nil {
		t.Errorf("counter B's view of kassa-1: %v", c)
	}
	for lang, want := range map[string][]string{
		"fi": {"Apteekin keskitin", "tavoitettavissa", "kassa-1: tila FAULT", "lähettämättä 2", "kassa-1: täällä 3 tietuetta"},
		"sv": {"Apotekets hubb", "nåbar", "kassa-1: läge FAULT"},
		"en": {"The pharmacy's hub", "reachable", "kassa-1: mode FAULT", "pending 2", "kassa-1: 3 records here"},
	} {
		out, _ := b.run("", "--lang", lang, "sync", "status")
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("--lang %s does not say %q:\n%s", lang, w, out)
			}
		}
	}

	// The hub is down: B says so, and still lists what it holds of A.
	h.kill()
	hub = syncStatusJSON(t, b)["hub"].(map[string]any)
	counters = hub["counters"].([]any)
	if hub["reachable"] != false || hub["error"] == nil || len(counters) != 1 || counters[0].(map[string]any)["records_here"].(float64) != 3 {
		t.Errorf("with the hub down: hub %v", hub)
	}
	if out, _ := b.run("", "--lang", "en", "sync", "status"); !strings.Contains(out, "not reachable") {
		t.Errorf("with the hub down, sync status does not say so:\n%s", out)
	}

	// Without a hub configured: nothing but that.
	lone := tiskiRun{t: t, data: a.data, env: []string{"TISKI_PIN=4711", "TISKI_TERMINAL=kassa-1"}}
	hub = syncStatusJSON(t, lone)["hub"].(map[string]any)
	if hub["configured"] != false || len(hub["counters"].([]any)) != 0 {
		t.Errorf("without a hub: %v", hub)
	}
	if out, _ := lone.run("", "--lang", "en", "sync", "status"); strings.Contains(out, "hub") {
		t.Errorf("without a hub, sync status speaks of one:\n%s", out)
	}
}

// TestSyncWatchHub (issue 19): `tiski sync watch --json` on a back-office
// PC shares while it runs, and each line carries the hub's state, until
// one shows the hub reached and the PC's record shared.
func TestSyncWatchHub(t *testing.T) {
	addr := freeAddr(t)
	startHubProcess(t, addr, filepath.Join(t.TempDir(), "hub"))
	r := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "office"), env: []string{"TISKI_PIN=4711", "TISKI_HUB_URL=nats://" + addr, "TISKI_TERMINAL=takahuone"}}
	writeConfig(t, r.data, "[pharmacy]\nname = \"Apteekki Tiski\"\noid = \"1.2.246.10.12345678.10.0\"\n")
	r.ok("", "mode", "fault", "--reason", "a record to share") // one record in the share lane
	cmd := exec.Command(tiskiBin, "sync", "watch", "--json", "--interval", "100ms", "--data", r.data)
	cmd.Env = append(os.Environ(), r.env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	lines := make(chan map[string]any)
	go func() {
		defer close(lines)
		dec := json.NewDecoder(out)
		for {
			var v map[string]any
			if dec.Decode(&v) != nil {
				return
			}
			lines <- v
		}
	}()
	deadline := time.After(20 * time.Second)
	var seen []any
	for {
		select {
		case v, ok := <-lines:
			if !ok {
				t.Fatalf("sync watch ended; it printed %v", seen)
			}
			hub := v["hub"].(map[string]any)
			seen = append(seen, hub)
			if hub["configured"] != true {
				t.Fatalf("a line without the hub configured: %v", hub)
			}
			if hub["reachable"] == true && hub["unshared"].(float64) == 0 {
				return
			}
		case <-deadline:
			t.Fatalf("sync watch never shared its record through the hub; it printed %v", seen)
		}
	}
}
