package formkit

import (
	"errors"
	"slices"
	"testing"

	"github.com/tiski-rx/tiski/pkg/rx"
)

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
