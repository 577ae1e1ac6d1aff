package main

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

// Issue 24's Done-when: `tiski catalogue sync` against the simulator holds
// at least 10,000 packages; a second sync takes only what changed; a sync
// with the service down leaves the old catalogue answering.
func TestCatalogueSyncDoneWhen(t *testing.T) {
	fhirURL, adminURL := serve(t, "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--data", t.TempDir())
	data := t.TempDir()
	tiski := func(args ...string) (string, error) {
		t.Helper()
		out, err := exec.Command(tiskiBin, append(args, "--centre", fhirURL, "--data", data)...).CombinedOutput()
		return string(out), err
	}
	out, err := tiski("catalogue", "sync")
	if err != nil {
		t.Fatalf("tiski catalogue sync: %v\n%s", err, out)
	}
	if !strings.Contains(out, "the whole catalogue") || !strings.Contains(out, "CC BY 4.0") {
		t.Errorf("first sync says:\n%s", out)
	}
	out, err = tiski("catalogue", "status", "--json")
	if err != nil {
		t.Fatalf("tiski catalogue status --json: %v\n%s", err, out)
	}
	var st struct {
		Imported bool   `json:"imported"`
		Source   string `json:"source"`
		Count    int    `json:"count"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if !st.Imported || st.Source != "fhir" || st.Count < 10000 {
		t.Fatalf("after tiski catalogue sync: %+v, want at least 10,000 packages from fhir", st)
	}

	// The Pharmaceutical Database changes; the next sync takes only that.
	resp, err := http.Post(adminURL+"/catalogue/changes", "application/json", strings.NewReader(`{"update":2,"add":1,"withdraw":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("lever: %d", resp.StatusCode)
	}
	out, err = tiski("catalogue", "sync", "--json", "--lang", "fi")
	if err != nil {
		t.Fatalf("second sync: %v\n%s", err, out)
	}
	var synced struct {
		Full      bool `json:"full"`
		Pages     int  `json:"pages"`
		Fetched   int  `json:"fetched"`
		Changed   int  `json:"changed"`
		Withdrawn int  `json:"withdrawn"`
		Status    struct {
			Count int `json:"count"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &synced); err != nil {
		t.Fatalf("sync --json: %v\n%s", err, out)
	}
	if synced.Full || synced.Fetched != 4 || synced.Changed != 3 || synced.Withdrawn != 1 || synced.Pages != 1 || synced.Status.Count != st.Count {
		t.Errorf("second sync: %+v; want 4 fetched on 1 page (3 changed, 1 withdrawn), %d packages", synced, st.Count)
	}

	// The service down: the sync fails in the user's terms, and the old
	// catalogue still answers.
	if out, err := exec.Command(tiskiBin, "centre", "fault", "down", "--admin-addr", strings.TrimPrefix(adminURL, "http://")).CombinedOutput(); err != nil {
		t.Fatalf("fault down: %v\n%s", err, out)
	}
	out, err = tiski("catalogue", "sync")
	if err == nil || !strings.Contains(out, "The old catalogue still answers") {
		t.Errorf("sync with the service down: %v\n%s", err, out)
	}
	out, err = tiski("catalogue", "status", "--json")
	if err != nil || !strings.Contains(out, `"count":`) {
		t.Fatalf("status after the failed sync: %v\n%s", err, out)
	}
	var after struct{ Count int }
	json.Unmarshal([]byte(out), &after)
	if after.Count != st.Count {
		t.Errorf("after the failed sync: %d packages, want the old %d", after.Count, st.Count)
	}

	// No Prescription Centre configured: said so, in the user's terms.
	out2, err := exec.Command(tiskiBin, "catalogue", "sync", "--data", data, "--centre", "").CombinedOutput()
	if err == nil || !strings.Contains(string(out2), "No Prescription Centre is configured") || !strings.Contains(string(out2), "The old catalogue still answers") {
		t.Errorf("sync without a centre: %v\n%s", err, out2)
	}
}
