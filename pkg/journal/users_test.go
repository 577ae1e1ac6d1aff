package journal

import (
	"context"
	"testing"

	"github.com/tiski-rx/tiski/pkg/rx"
)

func TestUsers(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	j := openTest(t, c)
	anna := User{ID: "anna", Name: "Anna Proviisori", Registration: "123456789", Role: rx.RolePharmacist, PINHash: "$argon2id$x"}
	if err := j.AddUser(ctx, anna); err != nil {
		t.Fatal(err)
	}
	if err := j.AddUser(ctx, User{ID: "olli", Name: "Olli Opiskelija", Role: rx.RoleStudent, PINHash: "h"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		u    User
		code string
	}{
		{"duplicate id", anna, rx.ECONFLICT},
		{"no id", User{Name: "x", Role: rx.RoleIT, PINHash: "h"}, rx.EINVALID},
		{"no name", User{ID: "x", Role: rx.RoleIT, PINHash: "h"}, rx.EINVALID},
		{"bad role", User{ID: "x", Name: "x", Role: "boss", PINHash: "h"}, rx.EINVALID},
		{"no pin", User{ID: "x", Name: "x", Role: rx.RoleIT}, rx.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantCode(t, j.AddUser(ctx, tt.u), tt.code) })
	}
	got, err := j.User(ctx, "anna")
	anna.CreatedAt = c.Now()
	if err != nil || got != anna {
		t.Errorf("User = %+v, %v; want %+v", got, err, anna)
	}
	if err := j.DisableUser(ctx, "olli"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, j.DisableUser(ctx, "nobody"), rx.ENOTFOUND)
	_, err = j.User(ctx, "nobody")
	wantCode(t, err, rx.ENOTFOUND)
	users, err := j.Users(ctx)
	if err != nil || len(users) != 2 || users[0].ID != "anna" || users[0].Disabled || !users[1].Disabled {
		t.Errorf("Users = %+v, %v", users, err)
	}
}
