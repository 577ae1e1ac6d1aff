package herd

import "testing"

// TestNeedsPipes: the default storm (830) fits a limit of 20,000
// descriptors over sockets; ten times the pharmacies does not; an unknown
// limit is taken to fit.
func TestNeedsPipes(t *testing.T) {
	for _, c := range []struct {
		clients int
		limit   uint64
		want    bool
	}{{830, 20000, false}, {1660, 20000, false}, {8300, 20000, true}, {8300, 0, false}, {8300, 1 << 20, false}} {
		if got := needsPipes(c.clients, c.limit); got != c.want {
			t.Errorf("needsPipes(%d, %d) = %v, want %v", c.clients, c.limit, got, c.want)
		}
	}
}
