// Package rx holds tiski's domain: patients, medicines, prescriptions,
// dispensings, prescribers and pharmacists, their validation and the error
// codes the rest of the program speaks. It imports only the standard library.
package rx

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. A code is for the program; the message is for the person.
const (
	EINVALID     = "invalid"     // the input is malformed or breaks a field rule
	ENOTFOUND    = "not_found"   // the thing asked for does not exist
	ECONFLICT    = "conflict"    // the state upstream disagrees (locked, dispensed elsewhere)
	EREJECTED    = "rejected"    // a business rule refused the request for good
	EUNAVAILABLE = "unavailable" // transient: try again later
	EFORBIDDEN   = "forbidden"   // the signed-in person may not do this
	EINTERNAL    = "internal"    // a bug or an unexpected state
	EPOLICY      = "policy"      // a fault-mode policy rule forbids this
	EDISKFULL    = "disk_full"   // the journal cannot grow
	ECORRUPT     = "corrupt"     // stored data failed a check
	ECONFIG      = "config"      // this installation's configuration lacks what the request needs, e.g. the pharmacy's identity
)

// Error is a domain error: Code for the program, Message for the person at
// the counter, in their terms.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	var v *ValidationError
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	} else if errors.As(err, &v) {
		return EINVALID
	}
	return EINTERNAL
}

// ErrorMessage returns the person-facing message of the first *Error in err's
// chain, or a generic message for any other error.
func ErrorMessage(err error) string {
	var e *Error
	var v *ValidationError
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	} else if errors.As(err, &v) {
		return v.Error()
	}
	return "Internal error."
}

// FieldError is one problem with one field of a form.
type FieldError struct {
	Field   string // the field's name, as the form labels it
	Message string // what is wrong, in the pharmacist's terms
}

// ValidationError lists every problem with a record at once, so the
// pharmacist can fix them in one pass.
type ValidationError struct {
	Problems []FieldError
}

func (v *ValidationError) Error() string {
	parts := make([]string, len(v.Problems))
	for i, p := range v.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return strings.Join(parts, "; ")
}

// Add records a problem with a field.
func (v *ValidationError) Add(field, format string, args ...any) {
	v.Problems = append(v.Problems, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when there are no problems, and v otherwise. ErrorCode
// reports EINVALID for it.
func (v *ValidationError) Err() error {
	if len(v.Problems) == 0 {
		return nil
	}
	return v
}
