package rx

import "time"

// Mode is the counter's mode (DESIGN §4): whether the Prescription Centre is
// reachable.
type Mode string

// Modes.
const (
	ModeOnline     Mode = "ONLINE"     // the Prescription Centre answers
	ModeFault      Mode = "FAULT"      // it does not, or a person said so: record in the journal
	ModeRecovering Mode = "RECOVERING" // it answers again; the backlog is being reconciled
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool {
	return m == ModeOnline || m == ModeFault || m == ModeRecovering
}

// ModeState is the mode in force, as the journal holds it, so that every
// process on one journal agrees.
type ModeState struct {
	Mode     Mode      `json:"mode"`
	Override bool      `json:"override"` // held by a person (tiski mode fault) until tiski mode auto
	Cause    string    `json:"cause"`    // why the mode changed, e.g. "probe: connection refused"
	Since    time.Time `json:"since"`    // when it changed
	Seq      int64     `json:"seq"`      // the journal record of the change; 0 when never changed
}

// ModeChange asks for a mode change. It is compare-and-set: it names the
// mode it expects to leave (From), the one its maker read, and is refused
// when another is in force by then, so a decision made on a mode that has
// since changed is never written. An automatic change (Manual false) is also
// ignored while a manual override holds.
type ModeChange struct {
	From     Mode   `json:"from"` // the mode the maker read and expects to leave; for a manual change, empty: whatever mode is in force
	To       Mode   `json:"to"`   // for a manual release (Manual, not Override), empty: keep the mode in force
	Cause    string `json:"cause"`
	Manual   bool   `json:"manual"`       // made by a person: tiski mode fault|auto
	Override bool   `json:"override"`     // the new state holds until a manual change clears it
	By       string `json:"by,omitempty"` // the person, for a manual change
}
