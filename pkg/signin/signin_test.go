package signin

import (
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

var fast = Params{Memory: 1024, Time: 1, Threads: 1}

func TestHashAndVerify(t *testing.T) {
	h, err := HashPIN("4711", fast)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") || strings.Contains(h, "4711") {
		t.Fatalf("hash %q", h)
	}
	if !VerifyPIN(h, "4711") {
		t.Fatal("the right PIN was refused")
	}
	for _, wrong := range []string{"4712", "", "47110", "0000"} {
		if VerifyPIN(h, wrong) {
			t.Fatalf("wrong PIN %q accepted", wrong)
		}
	}
	h2, _ := HashPIN("4711", fast)
	if h2 == h {
		t.Fatal("two hashes of one PIN are equal: no salt")
	}
	for _, broken := range []string{"", "4711", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA", strings.Replace(h, "v=19", "v=18", 1), h[:len(h)-10] + "!!!"} {
		if VerifyPIN(broken, "4711") {
			t.Fatalf("malformed hash %q accepted", broken)
		}
	}
}

func TestCheckPIN(t *testing.T) {
	for _, bad := range []string{"", "123", "1234567890123", "12a4", "١٢٣٤"} {
		if err := CheckPIN(bad); rx.ErrorCode(err) != rx.EINVALID {
			t.Errorf("PIN %q: %v", bad, err)
		}
	}
	if err := CheckPIN("123456"); err != nil {
		t.Error(err)
	}
}

func TestSessionLocksAfterInactivity(t *testing.T) {
	start := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	s := NewSession(rx.Pharmacist{ID: "aino"}, 15*time.Minute, start)
	at := func(d time.Duration) time.Time { return start.Add(d) }

	if due, _ := s.WarningDue(at(13 * time.Minute)); due {
		t.Fatal("warning two minutes early")
	}
	if due, left := s.WarningDue(at(14*time.Minute + 10*time.Second)); !due || left != 50*time.Second {
		t.Fatalf("warning at 14:10: %v, %v left", due, left)
	}
	s.Touch(at(14*time.Minute + 30*time.Second))
	if s.Locked(at(29 * time.Minute)) {
		t.Fatal("locked although touched at 14:30")
	}
	if !s.Locked(at(29*time.Minute + 30*time.Second)) {
		t.Fatal("not locked 15 minutes after the last key")
	}
	s.Touch(at(30 * time.Minute))
	if !s.Locked(at(30 * time.Minute)) {
		t.Fatal("a key press unlocked a locked session")
	}
	s.Unlock(at(31 * time.Minute))
	if s.Locked(at(31 * time.Minute)) {
		t.Fatal("still locked after Unlock")
	}
	s.Lock()
	if !s.Locked(at(31 * time.Minute)) {
		t.Fatal("Lock did not lock")
	}
}
