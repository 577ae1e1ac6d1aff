package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/pkg/signin"
)

// NewCmdUsers builds `tiski users`.
func NewCmdUsers(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Manage the people who sign in at the counter",
		Long: `Everyone who signs in at the counter has a user with a PIN. Roles:
  pharmacist  may record (farmaseutti or proviisori)
  student     may look but not record
  it          pharmacy IT
  trainer     runs drills

After 5 wrong PINs in a row a user is locked, even against the right PIN,
until IT runs 'tiski users unlock ID'.`,
	}
	cmd.AddCommand(NewCmdUsersAdd(f, nil), NewCmdUsersList(f, nil), NewCmdUsersDisable(f, nil), NewCmdUsersUnlock(f, nil))
	return cmd
}

// UsersAddOptions are the options of `tiski users add`.
type UsersAddOptions struct {
	Factory      *Factory
	ID           string
	Name         string
	Role         string
	Registration string
	Params       signin.Params
}

var userIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,31}$`)

// NewCmdUsersAdd builds `tiski users add`.
func NewCmdUsersAdd(f *Factory, runF func(context.Context, *UsersAddOptions) error) *cobra.Command {
	opts := &UsersAddOptions{Factory: f, Params: signin.DefaultParams}
	cmd := &cobra.Command{
		Use:   "add ID --name NAME --role pharmacist|student|it|trainer",
		Short: "Add a user; the PIN is read from standard input or asked for",
		Example: `  tiski users add aino --name "Aino Virtanen" --role pharmacist --registration 10100012345
  echo 4711 | tiski users add opiskelija --name "Olli Opiskelija" --role student`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return usersAddRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Name, "name", "", "the person's full name")
	cmd.Flags().StringVar(&opts.Role, "role", "", "pharmacist, student, it or trainer")
	cmd.Flags().StringVar(&opts.Registration, "registration", "", "Valvira registration number (pharmacists)")
	return cmd
}

func usersAddRun(ctx context.Context, opts *UsersAddOptions) error {
	var v rx.ValidationError
	if !userIDPattern.MatchString(opts.ID) {
		v.Add("id", "use 2-32 lower-case letters, digits, dots, dashes or underscores")
	} else if signin.Key(opts.ID) != opts.ID {
		// Sign-ins under such an id are counted and logged masked.
		v.Add("id", "must not look like a personal identity code")
	}
	if opts.Name == "" {
		v.Add("name", "the person's name is required (--name)")
	}
	role := rx.Role(opts.Role)
	switch role {
	case rx.RolePharmacist, rx.RoleStudent, rx.RoleIT, rx.RoleTrainer:
	default:
		v.Add("role", "must be pharmacist, student, it or trainer (--role)")
	}
	if role == rx.RolePharmacist && !regexp.MustCompile(`^[0-9]{5,12}$`).MatchString(opts.Registration) {
		v.Add("registration", "a pharmacist needs a Valvira registration number, digits only (--registration)")
	}
	if err := v.Err(); err != nil {
		return usageError{err}
	}
	f := opts.Factory
	pin, err := readPIN(f, "New PIN for "+opts.ID+": ")
	if err != nil {
		return err
	}
	hash, err := signin.HashPIN(pin, opts.Params)
	if err != nil {
		return err
	}
	j, err := f.Journal(ctx)
	if err != nil {
		return err
	}
	if err := j.AddUser(ctx, journal.User{ID: opts.ID, Name: opts.Name, Registration: opts.Registration, Role: role, PINHash: hash}); err != nil {
		return err
	}
	f.Logger().Info("user added", logKeyUser, opts.ID, "role", string(role), "by", operator())
	fmt.Fprintf(f.IO.Out, "Added %s (%s) as %s.\n", opts.ID, opts.Name, role)
	return nil
}

// UsersListOptions are the options of `tiski users list`.
type UsersListOptions struct {
	Factory *Factory
	JSON    bool
}

// NewCmdUsersList builds `tiski users list`.
func NewCmdUsersList(f *Factory, runF func(context.Context, *UsersListOptions) error) *cobra.Command {
	opts := &UsersListOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return usersListRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

type userJSON struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Role         rx.Role   `json:"role"`
	Registration string    `json:"registration,omitempty"`
	Disabled     bool      `json:"disabled"`
	Locked       bool      `json:"locked"`         // after too many failed sign-ins; tiski users unlock
	Failed       int       `json:"failed_signins"` // failed sign-ins in a row
	Created      time.Time `json:"created"`
}

func usersListRun(ctx context.Context, opts *UsersListOptions) error {
	j, err := opts.Factory.Journal(ctx)
	if err != nil {
		return err
	}
	users, err := j.Users(ctx)
	if err != nil {
		return err
	}
	out := opts.Factory.IO.Out
	if opts.JSON {
		list := make([]userJSON, 0, len(users))
		for _, u := range users {
			list = append(list, userJSON{u.ID, u.Name, u.Role, u.Registration, u.Disabled, u.Locked(), u.FailedSignIns, u.CreatedAt})
		}
		return json.NewEncoder(out).Encode(list)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tREGISTRATION\tSTATUS")
	for _, u := range users {
		status := "active"
		switch {
		case u.Disabled:
			status = "disabled"
		case u.Locked():
			status = "locked (tiski users unlock " + u.ID + ")"
		case u.FailedSignIns > 0:
			status = fmt.Sprintf("active, %d failed sign-ins", u.FailedSignIns)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.ID, u.Name, u.Role, u.Registration, status)
	}
	return tw.Flush()
}

// UsersDisableOptions are the options of `tiski users disable`.
type UsersDisableOptions struct {
	Factory *Factory
	ID      string
}

// NewCmdUsersDisable builds `tiski users disable`.
func NewCmdUsersDisable(f *Factory, runF func(context.Context, *UsersDisableOptions) error) *cobra.Command {
	opts := &UsersDisableOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "disable ID",
		Short: "Disable a user: they can no longer sign in; their records keep their name",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return usersDisableRun(cmd.Context(), opts)
		},
	}
	return cmd
}

func usersDisableRun(ctx context.Context, opts *UsersDisableOptions) error {
	j, err := opts.Factory.Journal(ctx)
	if err != nil {
		return err
	}
	if err := j.DisableUser(ctx, opts.ID); err != nil {
		return err
	}
	opts.Factory.Logger().Info("user disabled", logKeyUser, opts.ID, "by", operator())
	fmt.Fprintf(opts.Factory.IO.Out, "Disabled %s.\n", opts.ID)
	return nil
}

// UsersUnlockOptions are the options of `tiski users unlock`.
type UsersUnlockOptions struct {
	Factory *Factory
	ID      string
}

// NewCmdUsersUnlock builds `tiski users unlock`.
func NewCmdUsersUnlock(f *Factory, runF func(context.Context, *UsersUnlockOptions) error) *cobra.Command {
	opts := &UsersUnlockOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "unlock ID",
		Short: "Unlock a user locked after 5 wrong PINs, clearing their failed sign-ins",
		Long: `After 5 wrong PINs in a row a user is locked: their sign-in fails even with
the right PIN, at the counter and on the command line, until IT unlocks them.
Check first that it was the person themselves who mistyped. The unlock is
recorded in the journal and the log.`,
		Example: `  tiski users unlock aino`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return usersUnlockRun(cmd.Context(), opts)
		},
	}
	return cmd
}

func usersUnlockRun(ctx context.Context, opts *UsersUnlockOptions) error {
	f := opts.Factory
	j, err := f.Journal(ctx)
	if err != nil {
		return err
	}
	// Failures are counted under the id as signin.Key writes it, masked
	// when it looks like an identity code; either form unlocks it.
	id := signin.Key(opts.ID)
	c, err := j.UnlockUser(ctx, id, operator())
	if err != nil {
		return err
	}
	out := f.IO.Out
	switch {
	case c.Failures == 0:
		fmt.Fprintf(out, "%s is not locked and has no failed sign-ins.\n", id)
		return nil
	case c.Locked():
		fmt.Fprintf(out, "Unlocked %s: cleared %d failed sign-ins.\n", id, c.Failures)
	default:
		fmt.Fprintf(out, "%s was not locked; cleared %d failed sign-ins.\n", id, c.Failures)
	}
	f.Logger().Info("user unlocked", logKeyUser, id, "failures", c.Failures, "was_locked", c.Locked(), "by", operator())
	return nil
}
