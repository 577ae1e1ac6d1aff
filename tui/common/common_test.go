package common

import (
	"testing"
	"time"

	"github.com/tiski-rx/tiski/tui/i18n"
)

func TestAge(t *testing.T) {
	c := New(i18n.EN, nil, Counter{}, nil)
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0 s"},
		{45 * time.Second, "45 s"},
		{12*time.Minute + 59*time.Second, "12 min"},
		{3*time.Hour + 5*time.Minute, "3 h 5 min"},
		{52 * time.Hour, "2 d 4 h"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := c.Age(tt.d); got != tt.want {
				t.Errorf("Age(%v) = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	c := New(i18n.FI, nil, Counter{}, nil)
	if c.Counter.LockAfter != DefaultLockAfter || c.Counter.CallTimeout != DefaultCallTimeout || c.Now == nil {
		t.Errorf("defaults not applied: %+v", c.Counter)
	}
}
