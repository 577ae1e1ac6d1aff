package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/pkg/signin"
)

// readPIN reads a PIN: from TISKI_PIN, else from standard input when it is
// not a terminal (one line), else by prompting without echo.
func readPIN(f *Factory, prompt string) (string, error) {
	if pin := f.Getenv("TISKI_PIN"); pin != "" {
		return pin, nil
	}
	if file, ok := f.IO.In.(*os.File); ok && term.IsTerminal(int(file.Fd())) {
		fmt.Fprint(f.IO.ErrOut, prompt)
		b, err := term.ReadPassword(int(file.Fd()))
		fmt.Fprintln(f.IO.ErrOut)
		if err != nil {
			return "", fmt.Errorf("read PIN: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(f.IO.In).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read PIN from standard input: %w", err)
	}
	pin := strings.TrimRight(line, "\r\n")
	if pin == "" {
		return "", rx.Errorf(rx.EINVALID, "No PIN given: pass it on standard input or in TISKI_PIN.")
	}
	return pin, nil
}

// signIn checks a person's PIN against the journal's user list and returns
// who they are. The message never says whether the id or the PIN was wrong.
func signIn(ctx context.Context, f *Factory, j *journal.Journal, userID, pin string) (rx.Pharmacist, error) {
	u, err := j.User(ctx, userID)
	if err != nil && rx.ErrorCode(err) != rx.ENOTFOUND {
		return rx.Pharmacist{}, err
	}
	if err != nil || !signin.VerifyPIN(u.PINHash, pin) {
		return rx.Pharmacist{}, rx.Errorf(rx.EFORBIDDEN, "Sign-in failed: unknown user or wrong PIN.")
	}
	if u.Disabled {
		return rx.Pharmacist{}, rx.Errorf(rx.EFORBIDDEN, "User %s is disabled. Ask IT to enable a user.", u.ID)
	}
	return rx.Pharmacist{ID: u.ID, Name: u.Name, Registration: u.Registration, Role: u.Role}, nil
}

// signInFlag signs in the person named by --user, with the PIN from
// TISKI_PIN or standard input.
func signInFlag(ctx context.Context, f *Factory, j *journal.Journal, userID string) (rx.Pharmacist, error) {
	if userID == "" {
		return rx.Pharmacist{}, usageError{fmt.Errorf("--user ID is required: every record names the pharmacist who made it")}
	}
	pin, err := readPIN(f, "PIN for "+userID+": ")
	if err != nil {
		return rx.Pharmacist{}, err
	}
	return signIn(ctx, f, j, userID, pin)
}
