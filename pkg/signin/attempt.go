package signin

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// MaxFailures is how many failed sign-ins in a row lock an id until IT
// unlocks it (tiski users unlock ID). A 4-digit PIN then falls to guessing
// with a chance of 5 in 10,000 per lockout, and each lockout needs IT.
const MaxFailures = 5

// Delay is how long after the failures-th failure in a row the next attempt
// is refused without its PIN being checked.
//
// The lock after MaxFailures is what bounds guessing; the delay slows what
// comes before it, so a script cannot spend an id's tries in a burst, and
// the failures stand in the log for someone to notice while they happen.
// A person is not slowed: the first mistake is free (a mistyped PIN is
// retyped at once), and after the second, third and fourth a person
// rereading the PIN takes about the wait anyway: 2, 4 and 8 s, doubling,
// 14 s before the last try.
func Delay(failures int) time.Duration {
	if failures < 2 {
		return 0
	}
	return time.Second << (failures - 1)
}

// Reason is why a sign-in was refused.
type Reason int

// Reasons of a Refusal.
const (
	WrongPIN Reason = iota + 1 // unknown id or wrong PIN: the same answer for both
	TooSoon                    // the delay after the last failure has not passed
	Locked                     // MaxFailures in a row: only IT can unlock
)

// Refusal is a refused sign-in. Its code is rx.EFORBIDDEN. It says the same
// for an id that is no user as for a user's wrong PIN: the tries left, the
// wait and the lock are counted per id tried, whether or not it is a user.
type Refusal struct {
	Reason    Reason
	User      string        // the id tried, as the journal counts it (Key)
	TriesLeft int           // WrongPIN: attempts left before the lock
	Wait      time.Duration // TooSoon: until the next attempt is taken
	// Checked: the PIN was checked and was wrong (or the id is no user),
	// and the failure counted; with Locked, this failure locked the id.
	// False: refused without a check, counting nothing.
	Checked bool
}

// WaitSeconds is Wait in whole seconds, rounded up, for messages.
func (r *Refusal) WaitSeconds() int {
	return int((r.Wait + time.Second - 1) / time.Second)
}

func (r *Refusal) Error() string {
	switch r.Reason {
	case TooSoon:
		return fmt.Sprintf("Sign-in refused: too many wrong tries in a row. Wait %d s and try again.", r.WaitSeconds())
	case Locked:
		return fmt.Sprintf("Sign-in refused: the account %s is locked after %d wrong tries in a row. IT must run: tiski users unlock %s",
			r.User, MaxFailures, r.User)
	}
	return fmt.Sprintf("Sign-in failed: unknown user or wrong PIN. Tries left before the account is locked: %d.", r.TriesLeft)
}

// Unwrap gives the refusal its code for rx.ErrorCode.
func (r *Refusal) Unwrap() error { return &rx.Error{Code: rx.EFORBIDDEN, Message: r.Error()} }

// identityShaped matches what looks like a personal identity code, valid or
// mistyped: DDMMYY, a century sign, three digits and a check character.
var identityShaped = regexp.MustCompile(`^[0-9]{6}[-+A-Ya-y][0-9]{3}[0-9A-Za-z]$`)

// Key is the id a sign-in is counted and audited under: the id tried, with
// white space trimmed, and masked when it looks like an identity code (a
// patient's code typed in the wrong field must not reach the journal's
// audit or the log).
func Key(id string) string {
	id = strings.TrimSpace(id)
	if identityShaped.MatchString(id) {
		return hetu.Mask(id)
	}
	return id
}

// dummyHash is checked in place of the PIN hash of an id that is no user,
// so that answering for it takes the time a user's wrong PIN takes: one
// argon2id with the parameters `tiski users add` hashes with. No PIN
// matches it (its key is zeros, not the hash of anything known), and it
// costs nothing to make.
var dummyHash = fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
	DefaultParams.Memory, DefaultParams.Time, DefaultParams.Threads,
	base64.RawStdEncoding.EncodeToString(make([]byte, saltLen)), base64.RawStdEncoding.EncodeToString(make([]byte, keyLen)))

// Check signs a person in with the id and PIN against the journal's users,
// counting failures per id tried (journal.AdmitSignIn): it returns the user
// when the PIN is right, the id is not locked and the user is not disabled.
// A refusal is a *Refusal; a disabled user's right PIN is rx.EFORBIDDEN
// saying so. The journal's clock decides the delays.
func Check(ctx context.Context, j *journal.Journal, id, pin string) (journal.User, error) {
	id = strings.TrimSpace(id)
	if id == "" || pin == "" {
		return journal.User{}, rx.Errorf(rx.EINVALID, "Enter a user id and a PIN.")
	}
	key := Key(id)
	u, err := j.User(ctx, id)
	known := err == nil
	if err != nil && rx.ErrorCode(err) != rx.ENOTFOUND {
		return journal.User{}, err
	}
	if _, err := j.AdmitSignIn(ctx, key, admit); err != nil {
		if r := (*Refusal)(nil); errors.As(err, &r) {
			return journal.User{}, r
		}
		return journal.User{}, err
	}
	hash := u.PINHash
	if !known || key != id {
		hash = dummyHash
	}
	// Once the PIN is checked its outcome is written even if ctx ended
	// meanwhile (argon2id does not stop for it): the attempt is counted
	// already, and the audit must not miss its failure.
	ctx = context.WithoutCancel(ctx)
	if !VerifyPIN(hash, pin) || !known || key != id {
		c, err := j.SignInFailed(ctx, key, MaxFailures)
		if err != nil {
			return journal.User{}, err
		}
		if c.Locked() {
			return journal.User{}, &Refusal{Reason: Locked, User: key, Checked: true}
		}
		return journal.User{}, &Refusal{Reason: WrongPIN, User: key, TriesLeft: MaxFailures - c.Failures, Checked: true}
	}
	if _, ok, err := j.SignInSucceeded(ctx, key); err != nil {
		return journal.User{}, err
	} else if !ok {
		return journal.User{}, &Refusal{Reason: Locked, User: key}
	}
	if u.Disabled {
		return journal.User{}, rx.Errorf(rx.EFORBIDDEN, "User %s is disabled. Ask IT to enable a user.", u.ID)
	}
	return u, nil
}

// admit refuses an attempt on a locked id, or one before the delay after
// the last failure has passed. Neither has its PIN checked, nor counts.
func admit(c journal.SignInCount, now time.Time) error {
	if c.Locked() || c.Failures >= MaxFailures {
		// At MaxFailures without the lock, the last try is still being
		// checked: its outcome decides.
		if !c.Locked() {
			return &Refusal{Reason: TooSoon, User: c.UserID, Wait: time.Second}
		}
		return &Refusal{Reason: Locked, User: c.UserID}
	}
	if wait := c.LastAt.Add(Delay(c.Failures)).Sub(now); c.Failures > 0 && wait > 0 {
		return &Refusal{Reason: TooSoon, User: c.UserID, Wait: wait}
	}
	return nil
}
