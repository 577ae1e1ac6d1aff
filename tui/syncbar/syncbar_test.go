package syncbar

import (
	"bytes"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
)

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

// feed runs counts through Update as the command sends them.
func feed(m Model, counts ...Counts) Model {
	for _, c := range counts {
		next, _ := m.Update(c)
		m = next.(Model)
	}
	return m
}

func sized(m Model, w int) Model {
	next, _ := m.Update(tea.WindowSizeMsg{Width: w, Height: 24})
	return next.(Model)
}

// TestCounts shows the counts a run has: sent of total always, conflicts,
// rejections and retries once there are some, and the mode.
func TestCounts(t *testing.T) {
	tests := []struct {
		name    string
		c       Counts
		want    []string
		notWant []string
	}{
		{"clean", Counts{Total: 40, Uploaded: 12, At: t0.Add(time.Second)},
			[]string{"12/40 uploaded", "30%"}, []string{"conflict", "rejected", "retried"}},
		{"everything", Counts{Total: 40, Uploaded: 12, Conflicts: 2, Rejected: 1, Retries: 5, Mode: rx.ModeRecovering, At: t0.Add(time.Second)},
			[]string{"12/40 uploaded", "2 in conflict", "1 rejected", "5 retried", "RECOVERING", "38%"}, nil},
		{"nothing to send", Counts{At: t0.Add(time.Second)}, []string{"0/0 uploaded", "100%"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := ansi.Strip(feed(New(i18n.EN, Counts{Total: tt.c.Total, At: t0}), tt.c).View())
			for _, w := range tt.want {
				if !strings.Contains(v, w) {
					t.Errorf("the bar lacks %q:\n%s", w, v)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(v, w) {
					t.Errorf("the bar shows %q:\n%s", w, v)
				}
			}
		})
	}
}

// TestRateAndLeft measures the rate over the last seconds only: steady at
// 20 a second it says so and the time left; stalled (a fault) for longer
// than the window the rate is 0 and no time left is guessed; before half a
// second there is no rate at all.
func TestRateAndLeft(t *testing.T) {
	m := New(i18n.EN, Counts{Total: 200, At: t0})
	m = feed(m, Counts{Total: 200, Uploaded: 2, At: t0.Add(100 * time.Millisecond)})
	if _, ok := m.Rate(); ok {
		t.Error("a rate after a tenth of a second")
	}
	if v := ansi.Strip(m.View()); strings.Contains(v, "records/s") || strings.Contains(v, "left") {
		t.Errorf("the bar guesses before it can:\n%s", v)
	}
	for s := 1; s <= 5; s++ {
		m = feed(m, Counts{Total: 200, Uploaded: int64(20 * s), At: t0.Add(time.Duration(s) * time.Second)})
	}
	if r, ok := m.Rate(); !ok || r != 20 {
		t.Errorf("rate %v, %v; want 20 a second", r, ok)
	}
	if left, ok := m.Left(); !ok || left != 5*time.Second {
		t.Errorf("left %v, %v; want 5 s (100 more at 20 a second)", left, ok)
	}
	if v := ansi.Strip(m.View()); !strings.Contains(v, "20 records/s") || !strings.Contains(v, "about 5 s left") {
		t.Errorf("the bar:\n%s", v)
	}
	// Faster for the last 5 s: the rate follows within the window, not
	// averaged with the slow start.
	for s := 6; s <= 10; s++ {
		m = feed(m, Counts{Total: 200, Uploaded: 100 + int64(15*(s-5)), Conflicts: 0, At: t0.Add(time.Duration(s) * time.Second)})
	}
	if r, _ := m.Rate(); r != 15 {
		t.Errorf("rate %v after 5 s at 15 a second, want 15", r)
	}
	// A fault: nothing moves for 6 s.
	for s := 11; s <= 16; s++ {
		m = feed(m, Counts{Total: 200, Uploaded: 175, Retries: int64(s), Mode: rx.ModeFault, At: t0.Add(time.Duration(s) * time.Second)})
	}
	if r, ok := m.Rate(); !ok || r != 0 {
		t.Errorf("rate %v, %v in a fault, want 0", r, ok)
	}
	if _, ok := m.Left(); ok {
		t.Error("a time left while nothing moves")
	}
	if v := ansi.Strip(m.View()); strings.Contains(v, "left") || !strings.Contains(v, "0.0 records/s") || !strings.Contains(v, "FAULT") {
		t.Errorf("the bar in a fault:\n%s", v)
	}
	// A sample from before the last one is ignored, not a negative rate.
	m = feed(m, Counts{Total: 200, Uploaded: 0, At: t0})
	if r, _ := m.Rate(); r != 0 {
		t.Errorf("rate %v after an old sample", r)
	}
}

// TestFinished shows, once the run ends, the average rate and how long it
// took instead of the time left.
func TestFinished(t *testing.T) {
	m := feed(New(i18n.EN, Counts{Total: 50, At: t0}), Counts{Total: 50, Uploaded: 20, At: t0.Add(2 * time.Second)})
	next, cmd := m.Update(Finish{Total: 50, Uploaded: 49, Conflicts: 1, At: t0.Add(5 * time.Second)})
	m = next.(Model)
	if cmd == nil {
		t.Fatal("Finish does not end the program")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("Finish does not quit")
	}
	v := ansi.Strip(m.View())
	for _, w := range []string{"49/50 uploaded", "1 in conflict", "10 records/s", "took 5 s", "100%"} {
		if !strings.Contains(v, w) {
			t.Errorf("the last bar lacks %q:\n%s", w, v)
		}
	}
	if strings.Contains(v, "left") {
		t.Errorf("the last bar guesses a time left:\n%s", v)
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		lang i18n.Lang
		want string
	}{
		{200 * time.Millisecond, i18n.EN, "1 s"},
		{42 * time.Second, i18n.EN, "42 s"},
		{89 * time.Second, i18n.EN, "1 min"},
		{90 * time.Second, i18n.FI, "2 min"},
		{3*time.Hour + 5*time.Minute, i18n.SV, "3 h 5 min"},
	}
	for _, tt := range tests {
		if got := Duration(tt.lang, tt.d); got != tt.want {
			t.Errorf("Duration(%s, %v) = %q, want %q", tt.lang, tt.d, got, tt.want)
		}
	}
}

// TestLanguages shows the bar in each language, with its decimal mark.
func TestLanguages(t *testing.T) {
	tests := []struct {
		lang i18n.Lang
		want []string
	}{
		{i18n.FI, []string{"lähetetty 5/40", "ristiriidassa 1", "2,5 tietuetta/s", "noin 14 s jäljellä"}},
		{i18n.SV, []string{"5/40 skickade", "1 i konflikt", "2,5 poster/s", "cirka 14 s kvar"}},
		{i18n.EN, []string{"5/40 uploaded", "1 in conflict", "2.5 records/s", "about 14 s left"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.lang), func(t *testing.T) {
			m := feed(New(tt.lang, Counts{Total: 40, At: t0}), Counts{Total: 40, Uploaded: 5, Conflicts: 1, At: t0.Add(2400 * time.Millisecond)})
			v := ansi.Strip(m.View())
			for _, w := range tt.want {
				if !strings.Contains(v, w) {
					t.Errorf("lacks %q:\n%s", w, v)
				}
			}
		})
	}
}

// TestNarrow draws on terminals down to a few columns: the bar shrinks to
// the width, and the counts wrap onto more lines rather than being cut, so
// every count is still there at 24 columns.
func TestNarrow(t *testing.T) {
	c := Counts{Total: 400, Uploaded: 123, Conflicts: 2, Rejected: 1, Retries: 7, Mode: rx.ModeOnline, At: t0.Add(3 * time.Second)}
	for _, w := range []int{120, 60, 40, 24, 8} {
		m := feed(sized(New(i18n.FI, Counts{Total: 400, At: t0}), w), c)
		v := ansi.Strip(m.View())
		lines := strings.Split(strings.TrimSuffix(v, "\n"), "\n")
		for _, line := range lines {
			if ansi.StringWidth(line) > w {
				t.Errorf("width %d: line %q is %d wide", w, line, ansi.StringWidth(line))
			}
		}
		if bar := ansi.StringWidth(lines[0]); bar != min(w, maxWidth) {
			t.Errorf("width %d: the bar is %d wide, want %d", w, bar, min(w, maxWidth))
		}
		if w >= 24 {
			for _, want := range []string{"lähetetty 123/400", "ristiriidassa 2", "hylätty 1", "uusittu 7", "tietuetta/s", "jäljellä", "ONLINE"} {
				if !strings.Contains(v, want) {
					t.Errorf("width %d lacks %q:\n%s", w, want, v)
				}
			}
		}
		if w == 24 && len(lines) < 4 {
			t.Errorf("at 24 columns the counts did not wrap:\n%s", v)
		}
	}
}

// TestProgram runs the bar as a bubbletea program: the lines printed stay
// above it, and after Finish the last bar is the program's last frame.
func TestProgram(t *testing.T) {
	tm := teatest.NewTestModel(t, New(i18n.EN, Counts{Total: 3, At: t0}), teatest.WithInitialTermSize(50, 10))
	tm.Send(Counts{Total: 3, Uploaded: 1, At: t0.Add(time.Second)})
	tm.Send(Line("conflict dispensing 0193a1b2: dispensed-elsewhere"))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("dispensed-elsewhere")) },
		teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	tm.Send(Finish{Total: 3, Uploaded: 2, Conflicts: 1, At: t0.Add(2 * time.Second)})
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(Model)
	if !final.finished || final.Percent() != 1 {
		t.Errorf("final model: finished %v at %v", final.finished, final.Percent())
	}
	if v := ansi.Strip(final.View()); !strings.Contains(v, "2/3 uploaded") || !strings.Contains(v, "took 2 s") {
		t.Errorf("the last frame:\n%s", v)
	}
}
