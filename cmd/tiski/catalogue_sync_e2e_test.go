package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
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

// `tiski catalogue sync --watch` takes the update on its own once it is due
// and the service answers: here none has been taken yet, so it is due at
// once, and the service is down until the test brings it up.
func TestCatalogueSyncWatch(t *testing.T) {
	fhirURL, adminURL := serve(t, "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--data", t.TempDir())
	admin := strings.TrimPrefix(adminURL, "http://")
	fault := func(kind string) {
		t.Helper()
		if out, err := exec.Command(tiskiBin, "centre", "fault", kind, "--admin-addr", admin).CombinedOutput(); err != nil {
			t.Fatalf("fault %s: %v\n%s", kind, err, out)
		}
	}
	fault("down")
	data := t.TempDir()
	cmd := exec.Command(tiskiBin, "catalogue", "sync", "--watch", "--interval", "100ms", "--centre", fhirURL, "--data", data)
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Error("tiski catalogue sync --watch did not stop within 10 s of SIGINT")
		}
	}()
	lines := make(chan string, 100)
	for _, r := range []io.Reader{stdout, stderr} {
		go func() {
			sc := bufio.NewScanner(r)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
	}
	await := func(what string) {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for {
			select {
			case l := <-lines:
				t.Log(l)
				if strings.Contains(l, what) {
					return
				}
			case <-deadline:
				t.Fatalf("tiski catalogue sync --watch never said %q", what)
			}
		}
	}
	await("the Prescription Centre does not answer")
	fault("up")
	await("Medicine catalogue synced from the Prescription Centre (the whole catalogue)")
	await("The medicine catalogue is current; next update due")
	out, err := exec.Command(tiskiBin, "catalogue", "status", "--json", "--data", data).CombinedOutput()
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	var st struct{ Count int }
	if json.Unmarshal(out, &st); st.Count < 10000 {
		t.Errorf("after sync --watch: %s", out)
	}
}
