package journal

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Migration 0006 adds the count of failed sign-ins: a fresh journal has it,
// and an existing journal of schema 5 gains it with its users and records
// kept, every user starting with no failures.
func TestMigrateSignInFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("fresh", func(t *testing.T) {
		j := openTest(t, newClock())
		checkSignInTable(t, j)
	})
	t.Run("existing", func(t *testing.T) {
		c := newClock()
		path := filepath.Join(t.TempDir(), "journal.db")
		if err := createPrivate(path); err != nil {
			t.Fatal(err)
		}
		old, err := connect(path, Options{Now: c.Now, Terminal: "schema-5", BusyTimeout: 10 * time.Second}, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := old.migrateTo(ctx, 5); err != nil {
			t.Fatal(err)
		}
		if err := old.AddUser(ctx, User{ID: "aino", Name: "Aino", Role: rx.RolePharmacist, PINHash: "$argon2id$x"}); err != nil {
			t.Fatal(err)
		}
		mustAppend(t, old, dispensing(1))
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}
		before := readState(t, path)
		if before.version != 5 {
			t.Fatalf("setup: schema %d", before.version)
		}

		j, err := Open(ctx, path, Options{Now: c.Now})
		if err != nil {
			t.Fatalf("Open migrates: %v", err)
		}
		defer j.Close()
		if after := readState(t, path); after.version != schemaVersion || len(after.records) != 1 || after.records[0] != before.records[0] {
			t.Errorf("after migration: schema %d, records %q; before %q", after.version, after.records, before.records)
		}
		u, err := j.User(ctx, "aino")
		if err != nil || u.Name != "Aino" || u.FailedSignIns != 0 || u.Locked() {
			t.Errorf("user after migration: %+v, %v", u, err)
		}
		checkSignInTable(t, j)
	})
}

// checkSignInTable counts, locks and unlocks on j.
func checkSignInTable(t *testing.T, j *Journal) {
	t.Helper()
	ctx := context.Background()
	for range 2 {
		if _, err := j.AdmitSignIn(ctx, "aino", func(SignInCount, time.Time) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := j.SignInFailed(ctx, "aino", 2); err != nil {
			t.Fatal(err)
		}
	}
	users, err := j.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) > 0 && (users[0].FailedSignIns != 2 || !users[0].Locked()) {
		t.Errorf("Users after two failures with a limit of 2: %+v", users[0])
	}
	if c, err := j.SignInCount(ctx, "aino"); err != nil || c.Failures != 2 || !c.Locked() {
		t.Errorf("SignInCount = %+v, %v", c, err)
	}
	if c, err := j.UnlockUser(ctx, "aino", "it-1"); err != nil || c.Failures != 2 {
		t.Errorf("UnlockUser = %+v, %v", c, err)
	}
	if c, err := j.SignInCount(ctx, "aino"); err != nil || c.Failures != 0 || c.Locked() {
		t.Errorf("SignInCount after unlock = %+v, %v", c, err)
	}
	rep, err := j.Verify(ctx)
	if err != nil || !rep.OK {
		t.Errorf("Verify = %+v, %v", rep, err)
	}
}

// A refusal by admit writes nothing; a success clears the count unless a
// failure locked the id meanwhile.
func TestAdmitSignIn(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	j := openTest(t, c)
	refused := rx.Errorf(rx.EFORBIDDEN, "not now")
	var seen SignInCount
	var seenAt time.Time
	if _, err := j.AdmitSignIn(ctx, "aino", func(sc SignInCount, now time.Time) error { seen, seenAt = sc, now; return refused }); err == nil {
		t.Fatal("admit's refusal was not returned")
	}
	if seen.UserID != "aino" || seen.Failures != 0 || !seenAt.Equal(c.Now()) {
		t.Errorf("admit saw %+v at %v", seen, seenAt)
	}
	if sc, _ := j.SignInCount(ctx, "aino"); sc.Failures != 0 {
		t.Errorf("a refused attempt counted: %+v", sc)
	}
	sc, err := j.AdmitSignIn(ctx, "aino", func(SignInCount, time.Time) error { return nil })
	if err != nil || sc.Failures != 1 || !sc.LastAt.Equal(c.Now()) {
		t.Fatalf("AdmitSignIn = %+v, %v", sc, err)
	}
	if _, ok, err := j.SignInSucceeded(ctx, "aino"); err != nil || !ok {
		t.Fatalf("SignInSucceeded: %v %v", ok, err)
	}
	if sc, _ := j.SignInCount(ctx, "aino"); sc.Failures != 0 {
		t.Errorf("a success left %+v", sc)
	}
	// Locked while a right PIN was being checked: the success is refused.
	j.AdmitSignIn(ctx, "aino", func(SignInCount, time.Time) error { return nil })
	if _, err := j.SignInFailed(ctx, "aino", 1); err != nil {
		t.Fatal(err)
	}
	if sc, ok, err := j.SignInSucceeded(ctx, "aino"); err != nil || ok || !sc.Locked() {
		t.Errorf("SignInSucceeded on a locked id = %+v, %v, %v", sc, ok, err)
	}
	// A user added under an id tried before starts with no failures.
	if err := j.AddUser(ctx, User{ID: "aino", Name: "Aino", Role: rx.RolePharmacist, PINHash: "$argon2id$x"}); err != nil {
		t.Fatal(err)
	}
	if u, err := j.User(ctx, "aino"); err != nil || u.FailedSignIns != 0 || u.Locked() {
		t.Errorf("a new user under a locked id: %+v, %v", u, err)
	}
}
