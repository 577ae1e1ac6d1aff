// Package signin holds the counter sign-in: PINs hashed with argon2id, the
// check of a sign-in that counts failures per id tried and locks an id after
// MaxFailures in a row (Check, issue 18), and the session that locks after
// inactivity with a warning first (DESIGN §5).
package signin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/crypto/argon2"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultParams follow RFC 9106's second recommended option (64 MiB, 3
// passes) scaled to a counter machine: about 50 ms a sign-in.
var DefaultParams = Params{Memory: 64 * 1024, Time: 1, Threads: 2}

const (
	saltLen = 16
	keyLen  = 32
)

// CheckPIN says what is wrong with a new PIN: 4 to 12 digits.
func CheckPIN(pin string) error {
	if len(pin) < 4 || len(pin) > 12 {
		return rx.Errorf(rx.EINVALID, "The PIN must be 4 to 12 digits.")
	}
	for _, r := range pin {
		if !unicode.IsDigit(r) || r > unicode.MaxASCII {
			return rx.Errorf(rx.EINVALID, "The PIN must be digits only.")
		}
	}
	return nil
}

// HashPIN hashes a PIN for storage, in the PHC string format
// $argon2id$v=19$m=…,t=…,p=…$salt$hash.
func HashPIN(pin string, p Params) (string, error) {
	if err := CheckPIN(pin); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("make salt: %w", err)
	}
	key := argon2.IDKey([]byte(pin), salt, p.Time, p.Memory, p.Threads, keyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// VerifyPIN reports whether pin matches the stored hash, in constant time.
func VerifyPIN(hash, pin string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil || p.Memory == 0 || p.Time == 0 || p.Threads == 0 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pin), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// Session is a signed-in person at the counter. It locks after LockAfter of
// inactivity, and warns Warning before that.
type Session struct {
	Pharmacist   rx.Pharmacist
	LockAfter    time.Duration
	Warning      time.Duration
	lastActivity time.Time
	locked       bool
}

// NewSession starts a session at now.
func NewSession(p rx.Pharmacist, lockAfter time.Duration, now time.Time) *Session {
	warning := time.Minute
	if lockAfter <= 2*warning {
		warning = lockAfter / 4
	}
	return &Session{Pharmacist: p, LockAfter: lockAfter, Warning: warning, lastActivity: now}
}

// Touch records activity (a key press) at now. A locked session stays
// locked until Unlock.
func (s *Session) Touch(now time.Time) {
	if !s.Locked(now) {
		s.lastActivity = now
	}
}

// Locked reports whether the session is locked at now.
func (s *Session) Locked(now time.Time) bool {
	if !s.locked && now.Sub(s.lastActivity) >= s.LockAfter {
		s.locked = true
	}
	return s.locked
}

// WarningDue reports whether the lock is near, and how long is left.
func (s *Session) WarningDue(now time.Time) (bool, time.Duration) {
	left := s.LockAfter - now.Sub(s.lastActivity)
	return !s.Locked(now) && left <= s.Warning, left
}

// Lock locks the session at once.
func (s *Session) Lock() { s.locked = true }

// Unlock reopens a locked session for the same person after they gave
// their PIN again.
func (s *Session) Unlock(now time.Time) {
	s.locked = false
	s.lastActivity = now
}
