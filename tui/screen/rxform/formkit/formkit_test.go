package formkit

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
)

func TestMain(m *testing.M) { tuitest.Main(m) }

func TestParseDateTime(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2.3.2026 09:15", time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC), true},
		{"1.3.2026  23.05", time.Date(2026, 3, 1, 23, 5, 0, 0, time.UTC), true},
		{"9:40", time.Date(2026, 3, 2, 9, 40, 0, 0, time.UTC), true},
		{"9.40", time.Date(2026, 3, 2, 9, 40, 0, 0, time.UTC), true},
		{"2026-03-02 09:15", time.Time{}, false},
		{"25:00", time.Time{}, false},
		{"", time.Time{}, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDateTime(tc.in, now)
			if (err == nil) != tc.ok || tc.ok && !got.Equal(tc.want) {
				t.Fatalf("ParseDateTime(%q) = %v, %v", tc.in, got, err)
			}
		})
	}
	if d, err := ParseDate(" 31.12.2025 ", time.UTC); err != nil || FormatDate(d) != "31.12.2025" {
		t.Fatalf("ParseDate: %v %v", d, err)
	}
	if _, err := ParseDate("31.2.2026", time.UTC); err == nil {
		t.Fatal("31 February parsed")
	}
}

func TestFit(t *testing.T) {
	blocks := make([]Block, 10)
	for i := range blocks {
		blocks[i] = Block{Lines: []string{string(rune('a' + i))}}
	}
	blocks[7].Focused = true
	lines, above, below := Fit(blocks, 6)
	if len(lines) != 4 || above+below != 6 || !strings.Contains(strings.Join(lines, ""), "h") {
		t.Fatalf("lines %q, above %d, below %d", lines, above, below)
	}
	if lines, above, below := Fit(blocks, 20); len(lines) != 10 || above != 0 || below != 0 {
		t.Fatalf("all fit: %q %d %d", lines, above, below)
	}
}

func TestMove(t *testing.T) {
	fs := []int{2, 4, 6}
	for _, tc := range []struct {
		name      string
		focus, by int
		want      int
	}{
		{"next", 2, 1, 4},
		{"previous round the start", 2, -1, 6},
		{"next round the end", 6, 1, 2},
		{"a focus not in the order counts as the first", 5, 1, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Move(fs, tc.focus, tc.by); got != tc.want {
				t.Fatalf("Move(%v, %d, %d) = %d, want %d", fs, tc.focus, tc.by, got, tc.want)
			}
		})
	}
}

func TestWithout(t *testing.T) {
	ps := map[int][]string{1: {"a"}, 2: {"b"}}
	if got := Without(ps, 3); len(got) != 2 {
		t.Fatalf("a field without problems: %v", got)
	}
	got := Without(ps, 1)
	if len(got) != 1 || !slices.Equal(got[2], []string{"b"}) {
		t.Fatalf("Without 1: %v", got)
	}
	if len(ps) != 2 {
		t.Fatalf("the original map changed: %v", ps)
	}
}

func TestPlaceProblems(t *testing.T) {
	err := &rx.ValidationError{Problems: []rx.FieldError{
		{Field: "quantity", Message: "too many"},
		{Field: "quantity", Message: "not a pack"},
		{Field: "lot", Message: "unknown"},
	}}
	fieldOf := func(name string) (int, bool) { return 7, name == "quantity" }
	problems, other := PlaceProblems(err, fieldOf)
	if !slices.Equal(problems[7], []string{"too many", "not a pack"}) || !slices.Equal(other, []string{"lot: unknown"}) {
		t.Fatalf("problems %v, other %v", problems, other)
	}
	problems, other = PlaceProblems(errors.New("journal closed"), fieldOf)
	if len(problems) != 0 || !slices.Equal(other, []string{"journal closed"}) {
		t.Fatalf("an error of no field: problems %v, other %v", problems, other)
	}
}
