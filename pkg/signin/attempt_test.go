package signin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// testClock is the journal's clock, moved by hand so the delays take no
// time.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const (
	ainoPIN  = "4711"
	wrongPIN = "1111"
)

// newJournal opens a real journal on a test clock, with the user aino
// (a pharmacist, PIN 4711) hashed with params.
func newJournal(t *testing.T, params Params) (*journal.Journal, *testClock) {
	t.Helper()
	c := &testClock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	j, err := journal.Open(t.Context(), filepath.Join(t.TempDir(), "journal.db"), journal.Options{Terminal: "kassa-1", Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	addUser(t, j, "aino", ainoPIN, params)
	return j, c
}

func addUser(t *testing.T, j *journal.Journal, id, pin string, params Params) {
	t.Helper()
	h, err := HashPIN(pin, params)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.AddUser(t.Context(), journal.User{ID: id, Name: "Aino Apteekkari", Registration: "10100012345", Role: rx.RolePharmacist, PINHash: h}); err != nil {
		t.Fatal(err)
	}
}

// refusal returns err's *Refusal, failing the test when it is not one.
func refusal(t *testing.T, err error) *Refusal {
	t.Helper()
	var r *Refusal
	if !errors.As(err, &r) {
		t.Fatalf("got %v, want a refusal", err)
	}
	if rx.ErrorCode(err) != rx.EFORBIDDEN {
		t.Errorf("code %s, want %s", rx.ErrorCode(err), rx.EFORBIDDEN)
	}
	return r
}

// audit returns the journal's signin records.
func audit(t *testing.T, j *journal.Journal) []journal.SignInAudit {
	t.Helper()
	recs, err := j.List(t.Context(), journal.Filter{Kinds: []journal.Kind{journal.KindSignIn}})
	if err != nil {
		t.Fatal(err)
	}
	var out []journal.SignInAudit
	for _, r := range recs {
		var a journal.SignInAudit
		if err := json.Unmarshal(r.Body, &a); err != nil {
			t.Fatal(err)
		}
		if a.Event == journal.SignInUnlockedEvent && r.Pharmacist != a.By {
			t.Errorf("unlock record names %q, body %+v", r.Pharmacist, a)
		}
		out = append(out, a)
	}
	return out
}

// failFive makes five wrong attempts on id, each after the delay, and
// checks the answers: tries left 4, 3, 2, 1, then locked.
func failFive(t *testing.T, j *journal.Journal, c *testClock, id string) {
	t.Helper()
	for n := 1; n <= MaxFailures; n++ {
		_, err := Check(t.Context(), j, id, wrongPIN)
		r := refusal(t, err)
		switch {
		case n < MaxFailures && (r.Reason != WrongPIN || r.TriesLeft != MaxFailures-n):
			t.Fatalf("failure %d: %+v, want a wrong PIN with %d tries left", n, r, MaxFailures-n)
		case n == MaxFailures && r.Reason != Locked:
			t.Fatalf("failure %d: %+v, want locked", n, r)
		}
		c.Add(Delay(n))
	}
}

// The Done-when of issue 18: a sixth sign-in attempt after five wrong PINs
// fails even with the right PIN, until IT unlocks the user.
func TestSixthAttemptFailsEvenWithTheRightPINUntilUnlock(t *testing.T) {
	ctx := t.Context()
	j, c := newJournal(t, fast)
	failFive(t, j, c, "aino")

	c.Add(time.Hour) // no wait ends a lock
	_, err := Check(ctx, j, "aino", ainoPIN)
	r := refusal(t, err)
	if r.Reason != Locked || !strings.Contains(err.Error(), "locked") || !strings.Contains(err.Error(), "tiski users unlock aino") {
		t.Fatalf("sixth attempt with the right PIN: %v", err)
	}
	u, err := j.User(ctx, "aino")
	if err != nil || !u.Locked() || u.FailedSignIns != MaxFailures {
		t.Fatalf("user after the lock: %+v, %v", u, err)
	}

	cleared, err := j.UnlockUser(ctx, "aino", "it-1")
	if err != nil || cleared.Failures != MaxFailures || !cleared.Locked() {
		t.Fatalf("UnlockUser = %+v, %v", cleared, err)
	}
	if u, err := Check(ctx, j, "aino", ainoPIN); err != nil || u.ID != "aino" {
		t.Fatalf("after the unlock: %+v, %v", u, err)
	}

	want := []journal.SignInAudit{
		{Event: "failed", User: "aino", Failures: 1}, {Event: "failed", User: "aino", Failures: 2},
		{Event: "failed", User: "aino", Failures: 3}, {Event: "failed", User: "aino", Failures: 4},
		{Event: "failed", User: "aino", Failures: 5}, {Event: "locked", User: "aino", Failures: 5},
		{Event: "unlocked", User: "aino", Failures: 5, By: "it-1"},
	}
	if got := audit(t, j); !slices.Equal(got, want) {
		t.Errorf("audit:\n%+v\nwant\n%+v", got, want)
	}
	rep, err := j.Verify(ctx)
	if err != nil || !rep.OK {
		t.Errorf("the audit records break the chain: %+v, %v", rep, err)
	}
}

func TestASuccessResetsTheCount(t *testing.T) {
	ctx := t.Context()
	j, c := newJournal(t, fast)
	for range 3 { // 3 wrong, 1 right, 4 times over: never locked
		for n := 1; n <= MaxFailures-1; n++ {
			if _, err := Check(ctx, j, "aino", wrongPIN); refusal(t, err).TriesLeft != MaxFailures-n {
				t.Fatalf("failure %d: %v", n, err)
			}
			c.Add(Delay(n))
		}
		if _, err := Check(ctx, j, "aino", ainoPIN); err != nil {
			t.Fatalf("the right PIN after %d failures: %v", MaxFailures-1, err)
		}
		if cnt, err := j.SignInCount(ctx, "aino"); err != nil || cnt.Failures != 0 {
			t.Fatalf("count after a success: %+v, %v", cnt, err)
		}
	}
}

func TestDelayBetweenFailures(t *testing.T) {
	ctx := t.Context()
	j, c := newJournal(t, fast)
	// The first mistake is free: the PIN retyped at once is taken.
	if _, err := Check(ctx, j, "aino", wrongPIN); refusal(t, err).Reason != WrongPIN {
		t.Fatal(err)
	}
	if _, err := Check(ctx, j, "aino", wrongPIN); refusal(t, err).TriesLeft != 3 {
		t.Fatalf("a second try at once: %v", err)
	}
	// After the second, 2 s; after the third, 4 s; after the fourth, 8 s.
	for n, wait := range map[int]time.Duration{2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second} {
		if Delay(n) != wait {
			t.Errorf("Delay(%d) = %s, want %s", n, Delay(n), wait)
		}
	}
	c.Add(1500 * time.Millisecond)
	_, err := Check(ctx, j, "aino", ainoPIN) // too soon: refused even with the right PIN
	r := refusal(t, err)
	if r.Reason != TooSoon || r.Wait != 500*time.Millisecond || r.WaitSeconds() != 1 || !strings.Contains(err.Error(), "Wait 1 s") {
		t.Fatalf("too soon: %+v (%v)", r, err)
	}
	if cnt, _ := j.SignInCount(ctx, "aino"); cnt.Failures != 2 {
		t.Errorf("a refused attempt counted: %+v", cnt)
	}
	c.Add(500 * time.Millisecond)
	if _, err := Check(ctx, j, "aino", wrongPIN); refusal(t, err).TriesLeft != 2 {
		t.Fatalf("after the wait: %v", err)
	}
	c.Add(3 * time.Second)
	if _, err := Check(ctx, j, "aino", wrongPIN); refusal(t, err).Reason != TooSoon {
		t.Fatalf("3 s after the third failure: %v", err)
	}
	if got := len(audit(t, j)); got != 3 {
		t.Errorf("%d audit records, want one per failure (3)", got)
	}
}

// An id that is no user gets the answers a user's wrong PIN gets, counted
// the same way, and is locked the same way.
func TestUnknownUserAnswersLikeAWrongPIN(t *testing.T) {
	ctx := t.Context()
	j, c := newJournal(t, fast)
	for n := 1; n <= MaxFailures; n++ {
		_, errUser := Check(ctx, j, "aino", wrongPIN)
		_, errNobody := Check(ctx, j, "nobody", ainoPIN)
		ru, rn := refusal(t, errUser), refusal(t, errNobody)
		if ru.Reason != rn.Reason || ru.TriesLeft != rn.TriesLeft || ru.Wait != rn.Wait ||
			strings.ReplaceAll(errUser.Error(), "aino", "nobody") != errNobody.Error() {
			t.Fatalf("attempt %d: a user's wrong PIN says %q, an unknown id %q", n, errUser, errNobody)
		}
		// And too soon alike.
		if n >= 2 && n < MaxFailures {
			_, errUser = Check(ctx, j, "aino", wrongPIN)
			_, errNobody = Check(ctx, j, "nobody", wrongPIN)
			if strings.ReplaceAll(errUser.Error(), "aino", "nobody") != errNobody.Error() || refusal(t, errNobody).Reason != TooSoon {
				t.Fatalf("attempt %d too soon: %q and %q", n, errUser, errNobody)
			}
		}
		c.Add(Delay(n))
	}
	_, err := Check(ctx, j, "nobody", ainoPIN)
	if r := refusal(t, err); r.Reason != Locked || !strings.Contains(err.Error(), "tiski users unlock nobody") {
		t.Fatalf("sixth attempt on an unknown id: %v", err)
	}
	// IT may clear an unknown id's count; an id never tried is not found.
	if cleared, err := j.UnlockUser(ctx, "nobody", "it-1"); err != nil || cleared.Failures != MaxFailures {
		t.Errorf("unlock an unknown id: %+v, %v", cleared, err)
	}
	if _, err := j.UnlockUser(ctx, "nobody-else", "it-1"); rx.ErrorCode(err) != rx.ENOTFOUND {
		t.Errorf("unlock an id never tried: %v", err)
	}
	if cleared, err := j.UnlockUser(ctx, "aino", "it-1"); err != nil || cleared.Failures != MaxFailures {
		t.Errorf("unlock aino: %+v, %v", cleared, err)
	}
	if cleared, err := j.UnlockUser(ctx, "aino", "it-1"); err != nil || cleared.Failures != 0 {
		t.Errorf("unlock aino again: %+v, %v", cleared, err)
	}
}

// An unknown id takes as long to answer as a user's wrong PIN: a dummy
// argon2id hash is checked in its place. Users here are hashed with the
// default parameters, as `tiski users add` hashes them.
func TestUnknownUserTakesAsLongAsAWrongPIN(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes with the default parameters")
	}
	ctx := t.Context()
	j, _ := newJournal(t, DefaultParams)
	const n = 3
	for i := range n {
		addUser(t, j, fmt.Sprintf("user-%d", i), ainoPIN, DefaultParams)
	}
	fastest := func(id func(int) string) time.Duration {
		best := time.Hour
		for i := range n {
			start := time.Now()
			_, err := Check(ctx, j, id(i), wrongPIN)
			best = min(best, time.Since(start))
			if refusal(t, err).Reason != WrongPIN {
				t.Fatal(err)
			}
		}
		return best
	}
	user := fastest(func(i int) string { return fmt.Sprintf("user-%d", i) })
	nobody := fastest(func(i int) string { return fmt.Sprintf("nobody-%d", i) })
	t.Logf("wrong PIN %s, unknown id %s (fastest of %d)", user, nobody, n)
	if nobody < user/2 {
		t.Errorf("an unknown id answered in %s, a wrong PIN in %s: the time tells them apart", nobody, user)
	}
}

// An identity code typed as the id is never written to the journal: the
// count and the audit carry it masked.
func TestIdentityCodeAsIDIsMasked(t *testing.T) {
	ctx := t.Context()
	j, _ := newJournal(t, fast)
	_, err := Check(ctx, j, " 140348-901W ", ainoPIN)
	r := refusal(t, err)
	if r.User != "140348-***W" || strings.Contains(err.Error(), "901") {
		t.Errorf("refusal %+v: %v", r, err)
	}
	recs, err := j.List(ctx, journal.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if strings.Contains(string(rec.Body), "901") {
			t.Errorf("record %d holds the identity code: %s", rec.Seq, rec.Body)
		}
	}
	if cnt, err := j.SignInCount(ctx, "140348-***W"); err != nil || cnt.Failures != 1 {
		t.Errorf("count under the masked id: %+v, %v", cnt, err)
	}
}

// Attempts made at once on one id cannot all have their PIN checked: each
// is counted before its check, so the ones after it wait.
func TestSimultaneousAttemptsAreCountedBeforeTheirCheck(t *testing.T) {
	j, _ := newJournal(t, fast)
	const n = 10
	reasons := make(chan Reason, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := Check(context.Background(), j, "aino", wrongPIN)
			var r *Refusal
			if errors.As(err, &r) {
				reasons <- r.Reason
			} else {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	close(reasons)
	count := map[Reason]int{}
	for r := range reasons {
		count[r]++
	}
	// The clock stands still: the first failure is free, the second
	// imposes a wait that has not passed.
	if count[WrongPIN] != 2 || count[TooSoon] != n-2 {
		t.Errorf("of %d simultaneous wrong PINs, %d were checked and %d refused as too soon; want 2 and %d", n, count[WrongPIN], count[TooSoon], n-2)
	}
}
