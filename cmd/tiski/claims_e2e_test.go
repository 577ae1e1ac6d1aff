package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestLastPackThroughHubServe is issue 19's "the last pack cannot be
// handed out twice" through the binary, at two data folders against
// `tiski hub serve`: `tiski record dispensing` of the whole of a journal
// prescription at both counters at once is recorded at exactly one. With
// the hub killed, both counters record such a dispensing of another
// prescription, each warned that it was not checked across counters; once
// the hub is back and the records meet, each counter lists its dispensing
// as an over-dispensed conflict.
func TestLastPackThroughHubServe(t *testing.T) {
	addr := freeAddr(t)
	h := startHubProcess(t, addr, filepath.Join(t.TempDir(), "hub"))
	env := func(name string) []string {
		return []string{"TISKI_PIN=4711", "TISKI_HUB_URL=nats://" + addr, "TISKI_TERMINAL=" + name}
	}
	a := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "a"), env: env("kassa-1")}
	b := tiskiRun{t: t, data: filepath.Join(t.TempDir(), "b"), env: env("kassa-2")}
	counters := []tiskiRun{a, b}
	for _, r := range counters {
		writeConfig(t, r.data, "[pharmacy]\nname = \"Apteekki Tiski\"\noid = \"1.2.246.10.12345678.10.0\"\n")
		r.ok("", "users", "add", "aino", "--name", "Aino Virtanen", "--role", "pharmacist", "--registration", "10100012345")
		r.fixtureCatalogue()
	}
	dir := t.TempDir()
	file := func(name string, v map[string]any) string {
		path := filepath.Join(dir, name)
		b, _ := json.Marshal(v)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	paper := func(id string) string {
		prescriber := map[string]any{"name": "Anna Korhonen", "registration": "10090004180", "profession": "physician", "phone": "+358 9 3104 5000"}
		return file(id+".json", map[string]any{"id": id, "patient": "131052-902Y", "vnr": "990292", "issued": "2026-11-20", "prescriber": prescriber,
			"dosage": "2 tablettia 2 kertaa päivässä", "quantity": 200, "reason": "terveyskeskuksen järjestelmä oli poissa käytöstä"})
	}
	dispensing := func(prescription, at string) string {
		return file(prescription+"-"+at+".json", map[string]any{"patient": "131052-902Y", "prescription_record": prescription,
			"vnr": "990292", "quantity": 200, "time": "2026-11-21T10:00:00+02:00"})
	}
	// both records a dispensing of the whole prescription at both counters
	// at the same moment.
	both := func(prescription string) (outs []string, codes []int) {
		outs, codes = make([]string, 2), make([]int, 2)
		var wg sync.WaitGroup
		for i, r := range counters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i], codes[i] = r.run("", "record", "dispensing", "--from", dispensing(prescription, fmt.Sprint(i)), "--user", "aino")
			}()
		}
		wg.Wait()
		return outs, codes
	}

	const p1, p2 = "7a1c8a52-2f4e-4b7a-9a57-0c3e1b6f2a01", "7a1c8a52-2f4e-4b7a-9a57-0c3e1b6f2a02"
	a.ok("", "record", "paper", "--from", paper(p1), "--user", "aino")
	a.ok("", "record", "paper", "--from", paper(p2), "--user", "aino")
	b.ok("", "journal", "export", "--counters", "all", "--format", "json") // counter B catches up

	outs, codes := both(p1)
	won := 0
	for i, code := range codes {
		switch {
		case code == 0:
			won++
		case code != 1 || !strings.Contains(outs[i], "quantity 200 is more than the 0 left of journal prescription "+p1+" (200 of 200 dispensed)"):
			t.Errorf("counter %d: exit %d\n%s", i+1, code, outs[i])
		}
	}
	if won != 1 {
		t.Fatalf("the last pack was handed out at %d counters; want one:\n%s\n%s", won, outs[0], outs[1])
	}

	h.kill()
	outs, codes = both(p2)
	for i, code := range codes {
		if code != 0 || !strings.Contains(outs[i], "Not checked across counters") || !strings.Contains(outs[i], "HUB-UNCHECKED") {
			t.Errorf("counter %d with the hub down: exit %d; want it recorded with a warning\n%s", i+1, code, outs[i])
		}
	}
	h.start()
	for _, r := range []tiskiRun{a, b, a} {
		r.ok("", "journal", "export", "--counters", "all", "--format", "json")
	}
	for i, r := range counters {
		out := r.ok("", "conflicts", "list", "--json")
		if !strings.Contains(out, `"over-dispensed"`) || !strings.Contains(out, "journal prescription "+p2) {
			t.Errorf("counter %d's conflicts lack the over-dispensing of %s:\n%s", i+1, p2, out)
		}
	}
}
