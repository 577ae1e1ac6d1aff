package drill

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFind: a scenario is found by its file, or by the name of one shipped
// with tiski; the shipped ones are exactly the files of testdata/drills.
func TestFind(t *testing.T) {
	files, err := filepath.Glob("../../testdata/drills/*.toml")
	if err != nil || len(files) < 6 {
		t.Fatalf("testdata/drills: %v, %d files", err, len(files))
	}
	var want []string
	for _, f := range files {
		want = append(want, strings.TrimSuffix(filepath.Base(f), ".toml"))
	}
	names, err := Bundled()
	if err != nil || !slices.Equal(names, want) {
		t.Fatalf("Bundled() = %v, %v; want %v", names, err, want)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".toml")
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, arg := range []string{name, name + ".toml", f} {
			s, err := Find(arg)
			if err != nil {
				t.Fatalf("Find(%q): %v", arg, err)
			}
			if s.Name == "" || !bytes.Equal(s.Source, src) {
				t.Errorf("Find(%q): name %q, %d bytes of source; want the file's %d", arg, s.Name, len(s.Source), len(src))
			}
		}
	}
	_, err = Find("no-such-drill")
	if err == nil || !strings.Contains(err.Error(), "no scenario file no-such-drill") || !strings.Contains(err.Error(), "july-2015") {
		t.Errorf("an unknown name: %v", err)
	}
	// A path is a file, never a shipped name.
	if _, err := Find(filepath.Join(t.TempDir(), "july-2015.toml")); err == nil || !strings.Contains(err.Error(), "read scenario") {
		t.Errorf("a missing file named like a shipped scenario: %v", err)
	}
}

// TestShippedTasksAreTold: every task of a shipped scenario is told in
// Finnish and Swedish as well as English, and Told picks the counter's
// language, falling back to English.
func TestShippedTasksAreTold(t *testing.T) {
	names, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		s, err := Find(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, tk := range s.Tasks {
			if tk.Say == "" || tk.SayFI == "" || tk.SaySV == "" {
				t.Errorf("%s task %d: say %q, say_fi %q, say_sv %q", name, i+1, tk.Say, tk.SayFI, tk.SaySV)
			}
			if tk.Told("fi") != tk.SayFI || tk.Told("sv") != tk.SaySV || tk.Told("en") != tk.Say {
				t.Errorf("%s task %d: Told picks the wrong language", name, i+1)
			}
		}
	}
	if got := (Task{Say: "Matti needs metformin"}).Told("fi"); got != "Matti needs metformin" {
		t.Errorf("no Finnish: Told(fi) = %q, want the English", got)
	}
}
