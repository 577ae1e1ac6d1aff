package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestHubStatusAndDoctor: `tiski hub status` shows the streams and each
// counter's lag, and `tiski doctor` checks the hub: it answers, its
// streams, this counter's lag, and the records not shared yet, including
// while the hub is down.
func TestHubStatusAndDoctor(t *testing.T) {
	addr := freeAddr(t)
	h := startHubProcess(t, addr, filepath.Join(t.TempDir(), "hub"))
	a, b := counterRun(t, "kassa-1", "nats://"+addr, ""), counterRun(t, "kassa-2", "nats://"+addr, "")
	a.ok("", "record", "paper", "--from", "testdata/records/paper.json", "--user", "aino")

	// B has not read from the hub yet.
	got, _ := doctorFindings(t, b)
	if got["hub"].Status != "ok" || !strings.Contains(got["hub"].Detail, addr) {
		t.Errorf("hub: %+v", got["hub"])
	}
	if f := got["hub streams"]; f.Status != "ok" || !strings.Contains(f.Detail, "2 records") {
		t.Errorf("hub streams: %+v", f)
	}
	if f := got["hub lag"]; f.Status != "warn" || !strings.Contains(f.Detail, "not read from the hub") {
		t.Errorf("hub lag before B read: %+v", f)
	}
	if f := got["sharing"]; f.Status != "ok" {
		t.Errorf("sharing at B: %+v", f)
	}
	exported(t, b) // B catches up
	got, _ = doctorFindings(t, b)
	if f := got["hub lag"]; f.Status != "ok" {
		t.Errorf("hub lag after B caught up: %+v", f)
	}

	var st struct {
		Streams []struct {
			Name     string `json:"name"`
			Present  bool   `json:"present"`
			Messages int    `json:"messages"`
			Replicas int    `json:"replicas"`
		} `json:"streams"`
		Counters  []map[string]any `json:"counters"`
		Consumers []struct {
			Name       string `json:"name"`
			Counter    string `json:"counter"`
			NumPending int    `json:"num_pending"`
			AckPending int    `json:"ack_pending"`
		} `json:"consumers"`
	}
	out := b.ok("", "hub", "status", "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("hub status --json: %v\n%s", err, out)
	}
	if len(st.Streams) != 3 || st.Streams[0].Name != "TISKI_RECORDS" || !st.Streams[0].Present || st.Streams[0].Messages != 2 || st.Streams[0].Replicas != 1 {
		t.Errorf("streams: %+v", st.Streams)
	}
	lag := map[string]int{}
	for _, c := range st.Consumers {
		lag[c.Counter] = c.NumPending + c.AckPending
	}
	if l, ok := lag["kassa-2"]; !ok || l != 0 {
		t.Errorf("consumers: %+v", st.Consumers)
	}
	human := b.ok("", "hub", "status")
	for _, want := range []string{"TISKI_RECORDS", "ok (single hub)", "kassa-2", "NOT RECEIVED"} {
		if !strings.Contains(human, want) {
			t.Errorf("hub status lacks %q:\n%s", want, human)
		}
	}

	// The hub dies; A records; doctor says the hub does not answer and
	// how many records wait to be shared.
	h.kill()
	out, code := a.run("", "record", "telephone", "--from", "testdata/records/telephone.json", "--user", "aino")
	t.Logf("record with the hub down: exit %d\n%s", code, out)
	got, code = doctorFindings(t, a)
	if code == 0 || got["hub"].Status != "fail" || !strings.Contains(got["hub"].Detail, "cannot be reached") {
		t.Errorf("hub down: exit %d, %+v", code, got["hub"])
	}
	if f := got["sharing"]; f.Status != "warn" || !strings.HasPrefix(f.Detail, "1 records of this counter are not at the hub") {
		t.Errorf("sharing with the hub down: %+v", f)
	}
	if _, code := b.run("", "hub", "status"); code == 0 {
		t.Error("hub status with the hub down exits 0")
	}
}
