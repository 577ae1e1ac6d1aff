package journal

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// User is a person who signs in at the counter. The PIN hash is made and
// checked by the caller; the journal only keeps it.
type User struct {
	ID           string    `json:"id"`           // sign-in id
	Name         string    `json:"name"`         //
	Registration string    `json:"registration"` // Valvira registration number, for a pharmacist
	Role         rx.Role   `json:"role"`         //
	PINHash      string    `json:"-"`            // never shown
	Disabled     bool      `json:"disabled"`     //
	CreatedAt    time.Time `json:"created_at"`   // set by AddUser

	FailedSignIns int       `json:"failed_signins"` // in a row, from signin_failures
	LockedAt      time.Time `json:"locked_at"`      // zero: not locked; see AdmitSignIn and UnlockUser
}

// Locked reports whether the user is locked after too many failed
// sign-ins, until IT unlocks them.
func (u User) Locked() bool { return !u.LockedAt.IsZero() }

// AddUser adds a user; rx.ECONFLICT when the id is taken.
func (j *Journal) AddUser(ctx context.Context, u User) error {
	v := &rx.ValidationError{}
	if strings.TrimSpace(u.ID) == "" {
		v.Add("id", "is required")
	}
	if strings.TrimSpace(u.Name) == "" {
		v.Add("name", "is required")
	}
	switch u.Role {
	case rx.RolePharmacist, rx.RoleStudent, rx.RoleIT, rx.RoleTrainer:
	default:
		v.Add("role", "must be pharmacist, student, it or trainer")
	}
	if u.PINHash == "" {
		v.Add("pin", "is required")
	}
	if err := v.Err(); err != nil {
		return err
	}
	return j.write(ctx, "add user", func(t *tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO users (id, name, registration, role, pin_hash, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Name, u.Registration, string(u.Role), u.PINHash, u.Disabled, ts(t.now))
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
			return rx.Errorf(rx.ECONFLICT, "A user with the id %s already exists.", u.ID)
		} else if err != nil || j.schema < signInSchema {
			return err
		}
		// Failures under the id before it was a user's (counted as for
		// any id tried) are not the new user's.
		_, err = t.ExecContext(ctx, `DELETE FROM signin_failures WHERE user_id = ?`, u.ID)
		return err
	})
}

// userColumns and userFrom read a user with their failed sign-ins.
const (
	userColumns = `u.id, u.name, u.registration, u.role, u.pin_hash, u.disabled, u.created_at, coalesce(f.failures, 0), coalesce(f.locked_at, '')`
	userFrom    = ` FROM users u LEFT JOIN signin_failures f ON f.user_id = u.id`
)

func scanUser(s scanner) (User, error) {
	var u User
	var role, created, locked string
	if err := s.Scan(&u.ID, &u.Name, &u.Registration, &role, &u.PINHash, &u.Disabled, &created, &u.FailedSignIns, &locked); err != nil {
		return User{}, err
	}
	u.Role = rx.Role(role)
	var err error
	if u.CreatedAt, err = parseTS(created); err != nil {
		return User{}, err
	}
	u.LockedAt, err = parseTS(locked)
	return u, err
}

// User returns the user with the id; rx.ENOTFOUND when there is none.
func (j *Journal) User(ctx context.Context, id string) (User, error) {
	var u User
	err := j.read(ctx, "get user", func(t *tx) error {
		var err error
		u, err = scanUser(t.QueryRowContext(ctx, `SELECT `+userColumns+userFrom+` WHERE u.id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return rx.Errorf(rx.ENOTFOUND, "There is no user %s.", id)
		}
		return err
	})
	return u, err
}

// Users returns every user, disabled ones included, by id.
func (j *Journal) Users(ctx context.Context) ([]User, error) {
	var users []User
	err := j.read(ctx, "list users", func(t *tx) error {
		rows, err := t.QueryContext(ctx, `SELECT `+userColumns+userFrom+` ORDER BY u.id`)
		if err != nil {
			return err
		}
		users, err = appendRows(users, rows, scanUser)
		return err
	})
	return users, err
}

// DisableUser stops the user from signing in. The user's records keep
// naming them. rx.ENOTFOUND when there is no such user.
func (j *Journal) DisableUser(ctx context.Context, id string) error {
	return j.write(ctx, "disable user", func(t *tx) error {
		res, err := t.ExecContext(ctx, `UPDATE users SET disabled = 1 WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return rx.Errorf(rx.ENOTFOUND, "There is no user %s.", id)
		}
		return nil
	})
}
