package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal and returns its terminal end, the one a
// program's output goes to in a terminal window.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("cannot open the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { pts.Close() })
	return pts
}

// TestBarTerminal decides where the bar is drawn: on a terminal that can
// move its cursor, and nowhere else (a pipe, a file, a buffer, TERM=dumb).
func TestBarTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	file, err := os.Create(t.TempDir() + "/out.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	pty := openPTY(t)
	env := func(term string) func(string) string {
		return func(k string) string {
			if k == "TERM" {
				return term
			}
			return ""
		}
	}
	tests := []struct {
		name string
		out  io.Writer
		term string
		want bool
	}{
		{"terminal", pty, "xterm-256color", true},
		{"terminal without TERM", pty, "", true},
		{"dumb terminal", pty, "dumb", false},
		{"pipe", w, "xterm-256color", false},
		{"file", file, "xterm-256color", false},
		{"buffer", &bytes.Buffer{}, "xterm-256color", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := barTerminal(tt.out, env(tt.term)); got != tt.want {
				t.Errorf("barTerminal = %v, want %v", got, tt.want)
			}
		})
	}
}
