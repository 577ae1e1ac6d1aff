package formkit

import (
	"slices"
	"testing"
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
