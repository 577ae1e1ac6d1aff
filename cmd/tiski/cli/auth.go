package cli

import (
	"bufio"
	"context"
	"errors"
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
// who they are. Failures are counted per id tried (signin.Check): the
// message never says whether the id or the PIN was wrong, and after
// signin.MaxFailures in a row the id is locked until `tiski users unlock`.
// Every refusal is logged under the id tried (masked when it looks like an
// identity code), never with the PIN; the journal's signin records are the
// audit of the failures, the lockout and the unlock.
func signIn(ctx context.Context, f *Factory, j *journal.Journal, userID, pin string) (rx.Pharmacist, error) {
	u, err := signin.Check(ctx, j, userID, pin)
	var r *signin.Refusal
	if errors.As(err, &r) {
		logRefusal(f, r)
		return rx.Pharmacist{}, r
	}
	if err != nil {
		return rx.Pharmacist{}, err
	}
	return rx.Pharmacist{ID: u.ID, Name: u.Name, Registration: u.Registration, Role: u.Role}, nil
}

// logRefusal writes a refused sign-in to tiski.log.
func logRefusal(f *Factory, r *signin.Refusal) {
	log := f.Logger()
	switch {
	case r.Reason == signin.WrongPIN:
		log.Warn("sign-in failed", logKeyUser, r.User, "tries_left", r.TriesLeft)
	case r.Reason == signin.Locked && r.Checked:
		log.Warn("sign-in failed", logKeyUser, r.User, "tries_left", 0)
		log.Warn("user locked", logKeyUser, r.User, "failures", signin.MaxFailures, "unlock", "tiski users unlock "+r.User)
	case r.Reason == signin.Locked:
		log.Warn("sign-in refused", logKeyUser, r.User, "reason", "locked")
	default:
		log.Warn("sign-in refused", logKeyUser, r.User, "reason", "too soon", "wait_s", r.WaitSeconds())
	}
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
