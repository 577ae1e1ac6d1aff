package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hubProcess is a `tiski hub serve` process of a test.
type hubProcess struct {
	t          *testing.T
	addr, data string
	cmd        *exec.Cmd
}

// freeAddr returns a loopback address with a port free at the moment.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startHubProcess runs `tiski hub serve` and waits until it listens.
func startHubProcess(t *testing.T, addr, data string) *hubProcess {
	t.Helper()
	h := &hubProcess{t: t, addr: addr, data: data}
	h.start()
	t.Cleanup(func() {
		if h.cmd.ProcessState == nil {
			h.cmd.Process.Signal(syscall.SIGTERM)
			h.cmd.Wait()
		}
	})
	return h
}

func (h *hubProcess) start() {
	h.t.Helper()
	h.cmd = exec.Command(tiskiBin, "hub", "serve", "--addr", h.addr, "--data", h.data)
	out, err := h.cmd.StdoutPipe()
	if err != nil {
		h.t.Fatal(err)
	}
	h.cmd.Stderr = os.Stderr
	if err := h.cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var seen []string
		for sc.Scan() {
			seen = append(seen, sc.Text())
			if strings.Contains(sc.Text(), "without credentials") {
				ready <- strings.Join(seen, "\n")
			}
		}
		close(ready)
	}()
	select {
	case text, ok := <-ready:
		if !ok {
			h.t.Fatal("tiski hub serve ended before it listened")
		}
		if !strings.Contains(text, "listening on nats://"+h.addr) {
			h.t.Fatalf("tiski hub serve said:\n%s", text)
		}
	case <-time.After(30 * time.Second):
		h.t.Fatal("tiski hub serve did not listen within 30 s")
	}
}

// kill ends the hub with SIGKILL, as a power cut would.
func (h *hubProcess) kill() {
	h.cmd.Process.Signal(syscall.SIGKILL)
	h.cmd.Wait()
}

// exported reads a data folder's journal export with every counter.
func exported(t *testing.T, r tiskiRun) []map[string]any {
	t.Helper()
	var rows []map[string]any
	out := r.ok("", "journal", "export", "--counters", "all", "--format", "json")
	if i := strings.Index(out, "["); i > 0 { // a warning before the JSON
		t.Logf("export warned: %s", out[:i])
		out = out[i:]
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	return rows
}

// TestTwoCountersThroughHubServe is issue 19's Done-when through the
// binary: against `tiski hub serve` and two data folders with
// TISKI_HUB_URL set, a paper prescription with its full dispensing
// recorded at counter A appears in counter B's export, and a further
// dispensing against it at B is refused because nothing is left; both
// still hold after the hub was killed with SIGKILL and restarted.
func TestTwoCountersThroughHubServe(t *testing.T) {
	addr := freeAddr(t)
	h := startHubProcess(t, addr, filepath.Join(t.TempDir(), "hub"))
	a, b := counterRun(t, "kassa-1", "nats://"+addr, ""), counterRun(t, "kassa-2", "nats://"+addr, "")
	const paper, paperDisp = "5d0c8a52-2f4e-4b7a-9a57-0c3e1b6f2a10", "5d0c8a52-2f4e-4b7a-9a57-0c3e1b6f2a11"
	a.ok("", "record", "paper", "--from", "testdata/records/paper.json", "--user", "aino")

	seen := func(when string) {
		t.Helper()
		got := map[string]string{}
		for _, row := range exported(t, b) {
			got[row["id"].(string)] = fmt.Sprint(row["counter"])
		}
		if got[paper] != "kassa-1" || got[paperDisp] != "kassa-1" {
			t.Fatalf("%s: counter B's export with every counter lacks A's prescription or dispensing: %v", when, got)
		}
	}
	seen("after A recorded")

	further := filepath.Join(t.TempDir(), "more.json")
	body, _ := json.Marshal(map[string]any{"id": "5d0c8a52-2f4e-4b7a-9a57-0c3e1b6f2a99", "patient": "131052-902Y",
		"prescription_record": paper, "vnr": "990292", "quantity": 100, "time": "2026-11-21T10:00:00+02:00"})
	if err := os.WriteFile(further, body, 0o600); err != nil {
		t.Fatal(err)
	}
	refused := func(when string) {
		t.Helper()
		out, code := b.run("", "record", "dispensing", "--from", further, "--user", "aino")
		if code != 1 || !strings.Contains(out, "(200 of 200 dispensed)") {
			t.Fatalf("%s: a further dispensing at counter B: exit %d\n%s", when, code, out)
		}
	}
	refused("after A recorded")

	// SIGKILL the hub and start it again on its data: nothing is lost.
	h.kill()
	h.start()
	// A new counter data folder sees everything from the restarted hub.
	c := counterRun(t, "takahuone", "nats://"+addr, "")
	seen("after the hub was killed and restarted")
	refused("after the hub was killed and restarted")
	b = c
	seen("at a third counter after the restart")
	refused("at a third counter after the restart")
}

// TestHubWarningSpeaksTheLanguage: a command that cannot reach its hub
// says so on standard error in the language of the CLI's human output,
// and goes on with what the journal holds (exit 0, its output intact).
func TestHubWarningSpeaksTheLanguage(t *testing.T) {
	for lang, want := range map[string]string{
		"fi": "tiski: varoitus: apteekin keskitin:",
		"sv": "tiski: varning: apotekets hubb:",
		"en": "tiski: warning: the pharmacy's hub:",
	} {
		r := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "data"), env: []string{"TISKI_LANG=" + lang, "TISKI_HUB_URL=nats://127.0.0.1:1", "TISKI_TERMINAL=kassa-1"}}
		cmd := exec.Command(tiskiBin, "journal", "export", "--counters", "all", "--format", "json", "--data", r.data)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), r.env...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: export without its hub: %v\n%s", lang, err, stderr.String())
		}
		if !strings.HasPrefix(stderr.String(), want) || !strings.Contains(stderr.String(), "nats://127.0.0.1:1") {
			t.Errorf("%s: the warning reads %q, want it to start %q and name the hub", lang, stderr.String(), want)
		}
		if strings.TrimSpace(stdout.String()) != "[]" {
			t.Errorf("%s: export printed %q, want the empty journal's []", lang, stdout.String())
		}
	}
}
