package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// The patients of the records below: none may show on a screen.
var progressPatients = []string{"140348-901W", "131052-902Y", "210731Y903A"}

// progressJournal starts a simulator and fills a data folder's journal
// with n essential dispensings waiting for upload, appended in one
// transaction as a long fault leaves them, and one dispensing of a
// prescription dispensed elsewhere, which the upload turns into a
// conflict. It returns the ids of all n+1.
func progressJournal(t *testing.T, n int) (*centresim.Server, string, []journal.Record) {
	t.Helper()
	ctx := context.Background()
	sim, err := centresim.Start(ctx, centresim.Config{DataDir: t.TempDir(), Seed: 21})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	data := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(ctx, filepath.Join(data, "journal.db"), journal.Options{Terminal: "kassa-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	fx, err := rx.LoadFixtures(tiski.Fixtures(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	panadol, _ := fx.Medicine("panadol-500mg-tabl")
	simvastatin, _ := fx.Medicine("simvastatin-actavis-20mg-tabl")
	who := rx.Pharmacist{ID: "aino", Name: "Aino Apteekkari", Registration: "10100012345", Role: rx.RolePharmacist}
	pharmacy := rx.Pharmacy{Name: "Apteekki Tiski", OID: "1.2.246.10.12345678.10.0"}
	now := time.Now().Truncate(time.Second)
	nrs := make([]journal.NewRecord, 0, n)
	for i := range n {
		d := rx.Dispensing{ID: journal.NewID(), Patient: progressPatients[i%len(progressPatients)], Medicine: panadol, VNR: "990011",
			Quantity: 30, Time: now, Pharmacist: who, Pharmacy: pharmacy, Essential: true, Basis: rx.BasisPreviousLabel}
		body, err := json.Marshal(record.DispensingBody{Dispensing: d, UnitsPerDay: 3, FaultReference: "Kela's notice"})
		if err != nil {
			t.Fatal(err)
		}
		nrs = append(nrs, journal.NewRecord{ID: d.ID, Kind: journal.KindDispensing, Pharmacist: who.ID, Patient: d.Patient,
			Body: body, Upload: true, Time: now})
	}
	recs, err := j.AppendAll(ctx, nrs...)
	if err != nil {
		t.Fatal(err)
	}
	svc := &record.Service{Journal: j, Policy: policy.Default(), Pharmacy: pharmacy}
	// EP26000104 is completed upstream: dispensed elsewhere.
	rc, err := svc.Dispense(ctx, who, rx.Dispensing{PrescriptionID: "EP26000104", Patient: "140348-901W", Medicine: simvastatin,
		VNR: "990472", Quantity: 100}, record.DispenseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sim, data, append(recs, rc.Record)
}

// syncRunInTmux starts `tiski sync run` in a terminal of the given width,
// sending at rate records a second, so that a run of n records lasts a
// couple of seconds and the bar can be seen. The shell prints the exit
// code and keeps the screen.
func syncRunInTmux(t *testing.T, width int, rate int, sim *centresim.Server, data string, args ...string) *tmuxSession {
	t.Helper()
	env := []string{"TERM=xterm-256color", "TISKI_SYNC_RATE=" + strconv.Itoa(rate), "TISKI_SYNC_INITIAL_INTERVAL=10ms", "TISKI_SYNC_LEASE=1s",
		"TISKI_SYNC_MAX_INTERVAL=200ms", "TISKI_PROBE_INTERVAL=200ms"}
	// The shell ignores Ctrl-C (its trap runs after the command ends), so
	// that it prints the exit code of a run stopped by Ctrl-C.
	cmd := fmt.Sprintf("trap : INT; %s sync run --centre %s --data %s %s; echo \"exit $?\"; sleep 120", tiskiBin, sim.URL(), data, strings.Join(args, " "))
	return newTmux(t, width, 30, env, "sh -c '"+cmd+"'")
}

// joined is the screen with the lines the terminal wrapped joined again,
// as the program wrote them.
func (s *tmuxSession) joined() string {
	out, _ := exec.Command("tmux", "capture-pane", "-p", "-J", "-t", s.name).CombinedOutput()
	return string(out)
}

// waitForMatch waits until the screen matches re and ok accepts the
// match, never for a fixed time, and returns the screen and the match.
func (s *tmuxSession) waitForMatch(re *regexp.Regexp, ok func(screen string, m []string) bool, what string) (string, []string) {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		screen := s.screen()
		if m := re.FindStringSubmatch(screen); m != nil && ok(screen, m) {
			return screen, m
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("the screen never showed %s; it shows:\n%s", what, s.screen())
	return "", nil
}

// TestSyncRunProgressBarInTmux runs the built binary on a terminal against
// the simulator: while it uploads, the bar shows the counts, the rate and
// the time left; at the end the conflict's line is above the bar, the bar
// is full and stays, and the summary follows it. In English on a wide
// terminal and in Finnish on a narrow one, where the bar shrinks and the
// counts wrap. No patient's identity code is ever on the screen.
func TestSyncRunProgressBarInTmux(t *testing.T) {
	const n = 60
	tests := []struct {
		lang, uploaded, rate, left, conflict, summary string
		width                                         int
	}{
		{"en", `(\d+)/61 uploaded`, "records/s", "left", "1 in conflict", "Uploaded 60; 1 in conflict", 100},
		{"fi", `lähetetty (\d+)/61`, "tietuetta/s", "jäljellä", "ristiriidassa 1", "Lähetetty 60; ristiriidassa 1", 30},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			sim, data, _ := progressJournal(t, n)
			s := syncRunInTmux(t, tt.width, 30, sim, data, "--lang", tt.lang)
			// Midway: some sent, not all, with a rate and a time left.
			mid, _ := s.waitForMatch(regexp.MustCompile(tt.uploaded), func(screen string, m []string) bool {
				sent, _ := strconv.Atoi(m[1])
				return sent > 0 && sent < n && strings.Contains(screen, tt.left)
			}, "the bar midway")
			if !strings.Contains(mid, "░") || !strings.Contains(mid, "█") || !strings.Contains(mid, tt.rate) {
				t.Errorf("midway the screen shows no bar with a rate:\n%s", mid)
			}
			s.waitFor("exit 4")
			end := s.joined()
			for _, want := range []string{"conflict dispensing", "dispensed-elsewhere", strings.Replace(strings.Replace(tt.uploaded, `(\d+)`, "60", 1), `\d`, "", -1),
				tt.conflict, "100%", tt.summary} {
				if !strings.Contains(end, want) {
					t.Errorf("the end lacks %q:\n%s", want, end)
				}
			}
			conflictAt, barAt, summaryAt := strings.Index(end, "dispensed-elsewhere"), strings.Index(end, "100%"), strings.Index(end, tt.summary)
			if !(conflictAt < barAt && barAt < summaryAt) {
				t.Errorf("want the conflict, then the bar, then the summary:\n%s", end)
			}
			if strings.Count(end, "100%") != 1 {
				t.Errorf("the bar is drawn more than once:\n%s", end)
			}
			// The bar and its counts fit the terminal: the terminal had
			// to wrap none of their lines (the conflict's line and the
			// summary are plain text, which it may wrap).
			bar := end[strings.LastIndex(end[:barAt], "\n")+1 : summaryAt]
			for _, l := range strings.Split(bar, "\n") {
				if w := len([]rune(strings.TrimRight(l, " "))); w > tt.width {
					t.Errorf("the bar's line %q is %d wide on a terminal of %d", l, w, tt.width)
				}
			}
			for _, screen := range []string{mid, end} {
				for _, hetu := range progressPatients {
					if strings.Contains(screen, hetu) {
						t.Errorf("identity code %s on the screen:\n%s", hetu, screen)
					}
				}
			}
		})
	}
}

// TestSyncRunCtrlCInTmux stops a run with Ctrl-C on the terminal while the
// bar shows: the run ends with exit code 130 as without the bar, the bar
// stays on the screen with the count the journal holds, the journal
// verifies, and no record is in the Prescription Centre twice. A second
// run then sends the rest: nothing was lost.
func TestSyncRunCtrlCInTmux(t *testing.T) {
	const n = 60
	sim, data, recs := progressJournal(t, n)
	s := syncRunInTmux(t, 100, 10, sim, data)
	s.waitForMatch(regexp.MustCompile(`(\d+)/61 uploaded`), func(_ string, m []string) bool {
		sent, _ := strconv.Atoi(m[1])
		return sent >= 5
	}, "five records sent")
	s.keys("C-c")
	s.waitFor("exit 130")
	screen := s.joined()
	if !strings.Contains(screen, "/61 uploaded") || strings.Contains(screen, "100%") {
		t.Errorf("after Ctrl-C the screen does not keep the bar of a run stopped midway:\n%s", screen)
	}
	r := tiskiRun{t: t, data: data}
	r.ok("", "journal", "verify")
	j, err := journal.Open(context.Background(), filepath.Join(data, "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	done := 0
	for _, rec := range recs {
		e, err := j.Outbox(context.Background(), rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		upstream, err := sim.CountByIdentifier("MedicationDispense", rx.SystemRecordUUID, "urn:uuid:"+rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		switch e.State {
		case journal.OutboxDone:
			done++
			if upstream != 1 {
				t.Errorf("record %s is done with %d copies upstream", rec.ID, upstream)
			}
		case journal.OutboxPending, journal.OutboxRetry, journal.OutboxConflict, journal.OutboxSending:
			// A record whose answer the Ctrl-C cut off stays leased
			// (sending) until its lease ends, and may be upstream
			// already; the next run finds it there, as TestSyncRunKilled
			// shows. Never twice.
			if upstream > 1 {
				t.Errorf("record %s (%s) has %d copies upstream", rec.ID, e.State, upstream)
			}
		default:
			t.Errorf("record %s is %s after Ctrl-C", rec.ID, e.State)
		}
	}
	if done < 5 || done >= len(recs) {
		t.Errorf("%d of %d records done after a Ctrl-C midway", done, len(recs))
	}
	m := regexp.MustCompile(`(\d+)/61 uploaded`).FindAllStringSubmatch(screen, -1)
	if shown, _ := strconv.Atoi(m[len(m)-1][1]); shown != done {
		t.Errorf("the bar's last count is %d, the journal has %d done", shown, done)
	}

	r.env = []string{"TISKI_SYNC_LEASE=1s", "TISKI_SYNC_RATE=1000", "TISKI_SYNC_INITIAL_INTERVAL=10ms"}
	if out, code := r.run("", "sync", "run", "--centre", sim.URL()); code != 4 || !strings.Contains(out, "1 to review.") {
		t.Fatalf("the run after Ctrl-C: exit %d, want 4 (the conflict):\n%s", code, out)
	}
	for _, rec := range recs[:n] {
		e, err := j.Outbox(context.Background(), rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		upstream, err := sim.CountByIdentifier("MedicationDispense", rx.SystemRecordUUID, "urn:uuid:"+rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		if e.State != journal.OutboxDone || upstream != 1 {
			t.Errorf("record %s: %s with %d copies upstream, want done and exactly 1", rec.ID, e.State, upstream)
		}
	}
}

// TestSyncRunPlainWithoutTerminal runs the binary with its output to a
// pipe, as a script does, with a TERM that could draw a bar: the output is
// the plain lines it always was, with no bar, no escape sequence and no
// carriage return.
func TestSyncRunPlainWithoutTerminal(t *testing.T) {
	sim, data, _ := progressJournal(t, 30)
	cmd := exec.Command(tiskiBin, "sync", "run", "--centre", sim.URL(), "--data", data)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color", "TISKI_SYNC_RATE=40", "TISKI_PROBE_INTERVAL=200ms")
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 4 {
		t.Fatalf("exit %v, want 4 (a conflict):\n%s", err, out)
	}
	progressLine := regexp.MustCompile(`^\d+/31 uploaded, \d+ retried, [01] to review(, (ONLINE|FAULT|RECOVERING))?$`)
	conflictLine := regexp.MustCompile(`^conflict dispensing [0-9a-f-]{36}: .*dispensed-elsewhere`)
	summary := "Uploaded 30; 1 in conflict, 0 rejected, 0 transient failures retried. Left: 0 waiting, 0 blocked behind records under review, 1 to review."
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) < 3 || lines[len(lines)-1] != summary || lines[len(lines)-2] != "30/31 uploaded, 0 retried, 1 to review" {
		t.Fatalf("want progress lines, the last without the mode, then the summary:\n%s", out)
	}
	conflicts := 0
	for _, line := range lines[:len(lines)-1] {
		switch {
		case conflictLine.MatchString(line):
			conflicts++
		case !progressLine.MatchString(line):
			t.Errorf("not a plain line of sync run: %q", line)
		}
	}
	if conflicts != 1 || strings.ContainsAny(string(out), "\r\x1b█░") {
		t.Errorf("%d conflict lines, or a bar's characters, in:\n%q", conflicts, out)
	}
}
