// Package hetu parses and checks the Finnish personal identity code
// (henkilötunnus, HETU): DDMMYY, a century sign, a three-digit individual
// number and a check character.
package hetu

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// checkChars maps DDMMYYNNN mod 31 to the check character.
const checkChars = "0123456789ABCDEFHJKLMNPRSTUVWXY"

// Sex is the sex the individual number encodes: odd for men, even for women.
type Sex int

const (
	// Female is encoded by an even individual number.
	Female Sex = iota
	// Male is encoded by an odd individual number.
	Male
)

func (s Sex) String() string {
	if s == Male {
		return "male"
	}
	return "female"
}

// ID is a valid personal identity code.
type ID struct {
	code       string
	birth      time.Time
	individual int
}

// Error says what is wrong with an identity code. It never repeats the code
// itself, so it is safe to log.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return "invalid personal identity code: " + e.Reason }

func fail(format string, args ...any) (ID, error) {
	return ID{}, &Error{Reason: fmt.Sprintf(format, args...)}
}

// centuryOf maps each century sign to the first year of its century. The
// letters Y X W V U and B C D E F were added in 2023.
func centuryOf(sign byte) (int, bool) {
	switch sign {
	case '+':
		return 1800, true
	case '-', 'Y', 'X', 'W', 'V', 'U':
		return 1900, true
	case 'A', 'B', 'C', 'D', 'E', 'F':
		return 2000, true
	}
	return 0, false
}

// Parse checks s and returns the identity code it holds. Surrounding white
// space is trimmed and lower case is accepted. The error says exactly what is
// wrong, for example "check character should be T, not X".
func Parse(s string) (ID, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if n := len([]rune(s)); n != 11 {
		return fail("it should be 11 characters (DDMMYY, century sign, 3 digits, check character), not %d", n)
	}
	if len(s) != 11 {
		return fail("it contains characters that are not letters, digits or century signs")
	}
	for i := 0; i < 6; i++ {
		if s[i] < '0' || s[i] > '9' {
			return fail("the date part (first 6 characters) must be digits DDMMYY")
		}
	}
	century, ok := centuryOf(s[6])
	if !ok {
		return fail("century sign %q is not one of + - Y X W V U A B C D E F", s[6])
	}
	for i := 7; i < 10; i++ {
		if s[i] < '0' || s[i] > '9' {
			return fail("the individual number (characters 8-10) must be 3 digits")
		}
	}
	day := atoi(s[0:2])
	month := atoi(s[2:4])
	year := century + atoi(s[4:6])
	if month < 1 || month > 12 {
		return fail("month %02d does not exist", month)
	}
	if day < 1 || day > daysIn(year, month) {
		return fail("day %02d does not exist in %s %d", day, time.Month(month), year)
	}
	individual := atoi(s[7:10])
	if individual < 2 {
		return fail("individual number %03d is never issued (it starts at 002)", individual)
	}
	want := checkChars[atoi(s[0:6]+s[7:10])%31]
	if s[10] != want {
		return fail("check character should be %c, not %c", want, s[10])
	}
	return ID{
		code:       s,
		birth:      time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC),
		individual: individual,
	}, nil
}

// CheckChar returns the check character for a date part DDMMYY and an
// individual number. It is exported for making test codes.
func CheckChar(ddmmyy string, individual int) byte {
	return checkChars[atoi(fmt.Sprintf("%s%03d", ddmmyy, individual))%31]
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// String returns the code in its canonical upper-case form.
func (id ID) String() string { return id.code }

// BirthDate returns the date of birth, at midnight UTC.
func (id ID) BirthDate() time.Time { return id.birth }

// Sex returns the sex the individual number encodes.
func (id ID) Sex() Sex {
	if id.individual%2 == 1 {
		return Male
	}
	return Female
}

// IsTest reports whether the code is a test or temporary one (individual
// number 900-999).
func (id ID) IsTest() bool { return id.individual >= 900 }

// IsZero reports whether id is the zero value rather than a parsed code.
func (id ID) IsZero() bool { return id.code == "" }

// Masked returns the code with the individual number hidden, for logs and
// for screens where the whole code is not needed: 131052-***T.
func (id ID) Masked() string {
	if id.code == "" {
		return ""
	}
	return id.code[:7] + "***" + id.code[10:]
}

// Mask hides the individual number of anything that looks like an identity
// code, valid or not, so that a mistyped code never reaches a log either.
func Mask(s string) string {
	t := strings.TrimSpace(s)
	if len(t) != 11 {
		if len(t) > 7 {
			return t[:7] + strings.Repeat("*", len(t)-7)
		}
		return strings.Repeat("*", len(t))
	}
	return t[:7] + "***" + t[10:]
}

// codeLike finds what looks like an identity code in running text: six
// digits, a century sign, three digits and a check character, in either
// case, not run on from a digit before it (so that the tail of a longer
// run of digits, as in most record UUIDs, is not taken for one). Nothing
// else is asked of what comes before or after: masking a little too much
// on a page or in a log is harmless, missing a code is not.
var codeLike = regexp.MustCompile(`(?i)(^|[^0-9])(\d{6}[-+A-FU-Y]\d{3}[0-9A-Y])`)

// MaskText masks (Mask) everything in s that looks like an identity code,
// valid or not, and leaves the rest as it is. It is for free text that may
// hold a code: a refusal's detail, a note, a line of a printed page.
func MaskText(s string) string {
	return codeLike.ReplaceAllStringFunc(s, func(m string) string {
		// m is the character before the code, if any, and the code.
		return m[:len(m)-11] + Mask(m[len(m)-11:])
	})
}
