package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// TestNoticeComingBreakInTmux is issue 22's TUI test through the binary: IT
// types in Kela's planned break with `tiski notice add` while the counter
// runs, and the counter's status line shows the coming break, its times of
// day, within its refresh.
func TestNoticeComingBreakInTmux(t *testing.T) {
	r := counterData(t)
	s := newTmux(t, 160, 40, []string{"TISKI_LANG=en", "TERM=xterm-256color"}, tiskiBin+" counter --data "+r.data)
	s.waitFor("Sign in")
	s.keys("aino", "Enter")
	s.keys("4711", "Enter")
	s.waitFor("Patient search")
	if strings.Contains(s.screen(), "Kanta maintenance") {
		t.Fatalf("a break shown before any notice:\n%s", s.screen())
	}
	// A minute's margin, so the break is not reached during the test.
	from := time.Now().Add(3 * time.Hour).Truncate(time.Minute)
	to := from.Add(4 * time.Hour)
	r.ok("", "notice", "add", "--kind", "maintenance", "--from", from.Format("2006-01-02 15:04"), "--to", to.Format("2006-01-02 15:04"),
		"--text", "Kanta: Prescription Centre maintenance break")
	s.waitFor("Kanta maintenance ")
	s.waitFor(from.Format("15:04") + "–" + to.Format("15:04"))
	s.keys("C-c")
}

// TestNoticeReachesOtherCounterThroughHub (issue 22): a planned break
// typed in at counter A reaches counter B through the pharmacy's hub; B's
// `tiski mode status` is FAULT with the notice as its cause, without a
// probe; the end typed in at A reaches B too.
func TestNoticeReachesOtherCounterThroughHub(t *testing.T) {
	addr := freeAddr(t)
	startHubProcess(t, addr, filepath.Join(t.TempDir(), "hub"))
	env := func(name string) []string {
		return []string{"TISKI_HUB_URL=nats://" + addr, "TISKI_TERMINAL=" + name, "TISKI_LANG=en"}
	}
	a := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "a"), env: env("kassa-1")}
	b := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "b"), env: env("kassa-2")}
	for _, r := range []tiskiRun{a, b} {
		writeConfig(t, r.data, "[pharmacy]\nname = \"Apteekki Tiski\"\noid = \"1.2.246.10.12345678.10.0\"\n")
	}
	if out := b.ok("", "mode", "status"); !strings.HasPrefix(out, "ONLINE") {
		t.Fatalf("B before the notice: %q", out)
	}
	now := time.Now()
	a.ok("", "notice", "add", "--kind", "maintenance", "--from", now.Add(-time.Minute).Format(time.RFC3339),
		"--to", now.Add(time.Hour).Format(time.RFC3339), "--text", "Kanta maintenance break", "--ref", "KELA-7")

	notices := func(r tiskiRun) []rx.Notice {
		t.Helper()
		var ns []rx.Notice
		if out := r.ok("", "notice", "list", "--json"); json.Unmarshal([]byte(out), &ns) != nil {
			t.Fatalf("notice list --json: %q", out)
		}
		return ns
	}
	ns := notices(b)
	if len(ns) != 1 || ns[0].Counter != "kassa-1" || ns[0].Ref != "KELA-7" || ns[0].Kind != rx.NoticeMaintenance {
		t.Fatalf("B's notices: %+v", ns)
	}
	out := b.ok("", "mode", "status")
	if !strings.HasPrefix(out, "FAULT\n") || !strings.Contains(out, "planned break") || !strings.Contains(out, "Kanta maintenance break") {
		t.Fatalf("B's mode in A's break: %q", out)
	}
	a.ok("", "notice", "end", ns[0].ID)
	if ns := notices(b); len(ns) != 1 || ns[0].EndedAt.IsZero() {
		t.Fatalf("B's notices after A ended the break: %+v", ns)
	}
}

// TestNoticeBreakReachesRunningCounterThroughHub (issue 22): counter B
// runs in tmux with a hub, its probes answered by the simulator; a planned
// break in force typed in at counter A reaches B while it runs, and B's
// machine puts it in FAULT at once, showing the break on its status line.
// When A ends the break, B's probes bring it back to ONLINE.
func TestNoticeBreakReachesRunningCounterThroughHub(t *testing.T) {
	addr := freeAddr(t)
	startHubProcess(t, addr, filepath.Join(t.TempDir(), "hub"))
	env := func(name string) []string {
		return []string{"TISKI_PIN=4711", "TISKI_HUB_URL=nats://" + addr, "TISKI_TERMINAL=" + name}
	}
	a := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "a"), env: env("kassa-1")}
	writeConfig(t, a.data, "[pharmacy]\nname = \"Apteekki Tiski\"\noid = \"1.2.246.10.12345678.10.0\"\n")
	b := counterData(t)
	// B's probes run often, in FAULT too (10 s by default, up to 15 s
	// drawn), so that the end of the break brings it back to ONLINE well
	// within a wait: CI once saw it still RECOVERING at the deadline.
	b.env = append(env("kassa-2"), "TISKI_PROBE_INTERVAL=200ms", "TISKI_PROBE_FAULT_INTERVAL=500ms")

	s := newTmux(t, 160, 40, append(b.env, "TISKI_LANG=en", "TERM=xterm-256color"), tiskiBin+" counter --data "+b.data)
	s.waitFor("Sign in")
	s.keys("aino", "Enter")
	s.keys("4711", "Enter")
	s.waitFor("Patient search")
	s.waitFor("Hub: connected")
	s.waitFor("ONLINE")

	now := time.Now()
	a.ok("", "notice", "add", "--kind", "maintenance", "--from", now.Add(-time.Minute).Format(time.RFC3339),
		"--to", now.Add(2*time.Hour).Format(time.RFC3339), "--text", "Kanta maintenance break")
	s.waitFor("Kanta maintenance now, until")
	s.waitFor("FAULT")
	if out := b.ok("", "mode", "status"); !strings.HasPrefix(out, "FAULT") || !strings.Contains(out, "planned break") {
		t.Fatalf("B's mode status in the break: %q", out)
	}
	var ns []rx.Notice
	if err := json.Unmarshal([]byte(a.ok("", "notice", "list", "--json")), &ns); err != nil || len(ns) != 1 {
		t.Fatalf("A's notices: %+v, %v", ns, err)
	}
	a.ok("", "notice", "end", ns[0].ID)
	s.waitFor("ONLINE")
	if strings.Contains(s.screen(), "Kanta maintenance") {
		t.Errorf("the ended break still shows:\n%s", s.screen())
	}
	s.keys("C-c")
}
