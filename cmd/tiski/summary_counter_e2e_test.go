package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSummaryInTmux (issue 23, item 3): the built counter in a terminal
// removes the printouts older than a day at its start; ctrl+o on the
// prescriptions screen writes the patient's summary into the data folder
// (0600) and hands it to the opener (TISKI_OPENER, a script that notes
// what it was given); in FAULT it says there is nothing current to print
// and offers the outage's records, which ctrl+o again prints, marked as
// such. No identity code goes into the log.
func TestSummaryInTmux(t *testing.T) {
	r := counterData(t)
	dir := t.TempDir()
	printouts := filepath.Join(r.data, "printouts")
	if err := os.MkdirAll(printouts, 0o700); err != nil {
		t.Fatal(err)
	}
	old, fresh := filepath.Join(printouts, "summary-old.html"), filepath.Join(printouts, "summary-fresh.html")
	for _, f := range []string{old, fresh} {
		if err := os.WriteFile(f, []byte("<html>"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	twoDays := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(old, twoDays, twoDays); err != nil {
		t.Fatal(err)
	}
	opened := filepath.Join(dir, "opened.txt")
	opener := filepath.Join(dir, "opener.sh")
	if err := os.WriteFile(opener, []byte("#!/bin/sh\nprintf '%s\\n' \"$1\" >> '"+opened+"'\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	openedPaths := func() []string {
		b, _ := os.ReadFile(opened)
		return strings.Fields(string(b))
	}

	s := newTmux(t, 160, 50, []string{"TISKI_LANG=en", "TERM=xterm-256color", "TISKI_OPENER=" + opener}, tiskiBin+" counter --data "+r.data)
	s.waitFor("Sign in")
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("a printout two days old is still there at the counter's start: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh printout was removed: %v", err)
	}
	s.keys("aino", "Enter")
	s.keys("4711", "Enter")
	s.waitFor("Patient search")
	s.keys("140348-901W", "Enter")
	s.waitFor("Metforem")
	s.waitFor("ctrl+o summary")
	s.keys("C-o")
	s.waitFor("Opened for printing:")
	paths := openedPaths()
	if len(paths) != 1 || filepath.Dir(paths[0]) != printouts {
		t.Fatalf("the opener was given %v, want one file in %s", paths, printouts)
	}
	fi, err := os.Stat(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || strings.Contains(paths[0], "140348") {
		t.Errorf("summary %s, mode %v: want 0600 and no identity code in its name", paths[0], fi.Mode().Perm())
	}
	page, _ := os.ReadFile(paths[0])
	for _, want := range []string{`data-id="EP26000101"`, `<dd class="patient-code">140348-901W</dd>`, "TRAINING"} {
		if want == "TRAINING" {
			if strings.Contains(string(page), want) {
				t.Error("a counter not in training printed TRAINING")
			}
			continue
		}
		if !strings.Contains(string(page), want) {
			t.Errorf("the summary has no %s", want)
		}
	}

	// FAULT, and a record of the outage about the patient.
	r.ok("", "mode", "fault", "--reason", "Kela notice: Prescription Centre outage")
	rec, err := os.ReadFile("../../testdata/records/dispensing.json")
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(rec, &d); err != nil {
		t.Fatal(err)
	}
	d["id"], d["time"] = "7d1c3a52-6a2e-4f61-9a55-0e0c2b1f9d01", time.Now().Format(time.RFC3339Nano)
	delete(d, "fault_reference")
	rec, _ = json.Marshal(d)
	recFile := filepath.Join(dir, "dispensing.json")
	if err := os.WriteFile(recFile, rec, 0o600); err != nil {
		t.Fatal(err)
	}
	r.fixtureCatalogue()
	r.ok("4711\n", "record", "dispensing", "--from", recFile, "--user", "aino")
	s.waitFor("FAULT")
	s.keys("C-o")
	s.waitFor("Nothing current to print (FAULT). ctrl+o again: this patient's 1 records of the outage")
	s.keys("C-o")
	deadline := time.Now().Add(15 * time.Second)
	for len(openedPaths()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	paths = openedPaths()
	if len(paths) != 2 {
		t.Fatalf("the opener was given %v, want the outage page too\n%s", paths, s.screen())
	}
	page, _ = os.ReadFile(paths[1])
	if !strings.Contains(string(page), "OUTAGE RECORDS") || !strings.Contains(string(page), "EP26000101") || strings.Contains(string(page), "<svg") {
		t.Errorf("the outage page is not marked as such, lacks the record or carries barcodes:\n%s", page)
	}
	s.keys("C-c")

	logText, err := os.ReadFile(filepath.Join(r.data, "tiski.log"))
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]`).Match(logText) {
		t.Errorf("an identity code in the log:\n%s", logText)
	}
}
