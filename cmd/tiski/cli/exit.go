package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Exit codes. They are part of tiski's interface for scripts, documented in
// README.md; never renumber one.
const (
	ExitOK        = 0 // done; for sync, everything is uploaded
	ExitFailed    = 1 // failed; the message says why
	ExitUsage     = 2 // the command line is wrong
	ExitPending   = 3 // recorded locally, not yet uploaded to the Prescription Centre
	ExitConflicts = 4 // records need a pharmacist's review (conflicts or rejections)
	ExitOffline   = 5 // the Prescription Centre could not be reached
	ExitCancelled = 130
)

// ExitError ends a command with a specific exit code. Message may be empty
// when the command has already said everything.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// usageError marks a mistake on the command line.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// exitCode maps an error to an exit code, in one place.
func exitCode(err error) int {
	var ee *ExitError
	var ue usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.Code
	case errors.As(err, &ue):
		return ExitUsage
	case errors.Is(err, context.Canceled):
		return ExitCancelled
	case rx.ErrorCode(err) == rx.EUNAVAILABLE:
		return ExitOffline
	}
	return ExitFailed
}
