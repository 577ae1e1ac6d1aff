package centre

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/centresim"
)

func TestParseRoom(t *testing.T) {
	for _, tt := range []struct {
		name   string
		header map[string]string
		room   float64
		ok     bool
	}{
		{"structured fields", map[string]string{"RateLimit-Policy": `"capacity";q=300;w=1`, "RateLimit": `"capacity";r=120;t=1`}, 0.4, true},
		{"structured, several policies: the first", map[string]string{"RateLimit-Policy": `"a";q=100;w=1, "b";q=1000;w=60`, "RateLimit": `"a";r=25;t=1, "b";r=1000;t=60`}, 0.25, true},
		{"earlier drafts' separate fields", map[string]string{"RateLimit-Limit": "100", "RateLimit-Remaining": "0", "RateLimit-Reset": "3"}, 0, true},
		{"more left than the limit", map[string]string{"RateLimit-Limit": "10", "RateLimit-Remaining": "12"}, 1, true},
		{"none", nil, 0, false},
		{"policy without the remaining", map[string]string{"RateLimit-Policy": `"capacity";q=300;w=1`}, 0, false},
		{"garbage", map[string]string{"RateLimit-Policy": `"x";q=abc`, "RateLimit": `"x";r=-1`}, 0, false},
		{"a zero limit", map[string]string{"RateLimit-Limit": "0", "RateLimit-Remaining": "0"}, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			room, ok := parseRoom(h)
			if ok != tt.ok || (ok && (room < tt.room-1e-9 || room > tt.room+1e-9)) {
				t.Fatalf("parseRoom(%v) = %v, %v; want %v, %v", tt.header, room, ok, tt.room, tt.ok)
			}
		})
	}
}

// TestRoomFromTheSimulator: a simulator with a capacity hints at the room
// it has left on every answer, throttled ones too, and the client keeps
// it; one without a capacity sends none, and the client says so.
func TestRoomFromTheSimulator(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := func(capacity float64) *Client {
		srv, err := centresim.Start(ctx, centresim.Config{Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", DataDir: t.TempDir(), Seed: 1, Capacity: capacity})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		return newClient(t, Config{BaseURL: srv.URL()})
	}

	plain := start(0)
	if _, err := plain.Prescriptions(ctx, "010101-123N"); err != nil {
		t.Fatal(err)
	}
	if room, ok := plain.Room(); ok {
		t.Fatalf("a simulator without a capacity hinted room %v", room)
	}

	c := start(20) // 20 a second, in bursts of two
	if _, err := c.Prescriptions(ctx, "010101-123N"); err != nil {
		t.Fatal(err)
	}
	room, ok := c.Room()
	if !ok || room != 0.95 {
		t.Fatalf("after one request in the second: room %v, %v; want 0.95, hinted", room, ok)
	}
	// Thirty at once: most are throttled, and the hint counts them all.
	var wg sync.WaitGroup
	var throttled atomic.Int32
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Prescriptions(ctx, "010101-123N")
			if ce, isCE := err.(*Error); isCE && ce.Status == http.StatusTooManyRequests {
				throttled.Add(1)
			}
		}()
	}
	wg.Wait()
	if throttled.Load() == 0 {
		t.Fatal("30 requests at once against a capacity of 20 a second: none throttled")
	}
	// Answers to concurrent requests land in any order, so the client's
	// last hint may be an early one; one more request, answered or
	// throttled, reads the second's count.
	_, _ = c.Prescriptions(ctx, "010101-123N")
	if room, ok := c.Room(); !ok || room > 0.5 {
		t.Fatalf("after 32 requests within a second: room %v, %v; want at most half, hinted", room, ok)
	}
}
