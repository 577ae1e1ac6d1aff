// Package keymap holds every key binding of the counter (STYLE §11). Help
// is generated from these bindings through bubbles/help, so the help
// screen cannot disagree with the keys.
//
// Screens take text input, so the counter's own actions sit on function
// and control keys that typing never produces. The safety-critical keys,
// confirming a dispensing and voiding a record, are bound to nothing else.
package keymap

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// KeyMap is every binding of the counter.
type KeyMap struct {
	Quit      key.Binding
	Help      key.Binding
	Back      key.Binding
	Submit    key.Binding
	Up        key.Binding
	Down      key.Binding
	NextField key.Binding
	PrevField key.Binding
	Sort      key.Binding
	Filter    key.Binding
	Detail    key.Binding
	Search    key.Binding
	Lock      key.Binding
	// ForceFault switches the counter to FAULT mode, offered when the
	// Prescription Centre does not answer.
	ForceFault key.Binding
	// Outage starts and ends an outage of the simulated Prescription
	// Centre; only a training counter (tiski demo) offers it.
	Outage key.Binding
	// Dispense opens the dispense screen for the selected prescription.
	Dispense key.Binding
	// Paper, Telephone and Essential open the fault forms: a paper or
	// telephone prescription (in every mode: the fault may be the
	// prescriber's), and an essential-medication dispensing (in FAULT).
	Paper     key.Binding
	Telephone key.Binding
	Essential key.Binding
	// Sync and Conflicts open the upload queue and the records waiting for
	// a pharmacist's review; RetryNow sends the selected record again now.
	Sync      key.Binding
	Conflicts key.Binding
	RetryNow  key.Binding
	// FaultDesk opens the fault desk: the triage and the draft fault
	// report for Kela (issue 22).
	FaultDesk key.Binding
	// Renewal requests a renewal of the selected prescription for the
	// patient, with the patient's optional message (issue 23).
	Renewal key.Binding
	// Summary writes the patient's prescription summary, with a barcode
	// of each prescription, and opens it for printing (issue 23).
	Summary key.Binding

	// ConfirmDispense and Void are safety-critical: no other binding, in
	// any screen, uses their keys.
	ConfirmDispense key.Binding
	Void            key.Binding
}

// New returns the bindings with their help in lang.
func New(lang i18n.Lang) KeyMap {
	b := func(desc i18n.Key, label string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(label, lang.T(desc)))
	}
	return KeyMap{
		Quit:            b(i18n.HelpQuit, "ctrl+c", "ctrl+c"),
		Help:            b(i18n.HelpHelp, "F1", "f1"),
		Back:            b(i18n.HelpBack, "esc", "esc"),
		Submit:          b(i18n.HelpSubmit, "enter", "enter"),
		Up:              b(i18n.HelpUp, "↑", "up"),
		Down:            b(i18n.HelpDown, "↓", "down"),
		NextField:       b(i18n.HelpNextField, "tab", "tab"),
		PrevField:       b(i18n.HelpPrevField, "shift+tab", "shift+tab"),
		Sort:            b(i18n.HelpSort, "F3", "f3"),
		Filter:          b(i18n.HelpFilter, "F4", "f4"),
		Detail:          b(i18n.HelpDetail, "enter", "enter"),
		Search:          b(i18n.HelpSearch, "F2", "f2"),
		Lock:            b(i18n.HelpLock, "ctrl+l", "ctrl+l"),
		ForceFault:      b(i18n.HelpForceFault, "F6", "f6"),
		Outage:          b(i18n.HelpOutage, "F9", "f9"),
		Dispense:        b(i18n.HelpDispense, "F5", "f5"),
		Paper:           b(i18n.HelpPaper, "ctrl+p", "ctrl+p"),
		Telephone:       b(i18n.HelpTelephone, "ctrl+t", "ctrl+t"),
		Essential:       b(i18n.HelpEssential, "ctrl+e", "ctrl+e"),
		Sync:            b(i18n.HelpSync, "F7", "f7"),
		Conflicts:       b(i18n.HelpConflicts, "F12", "f12"),
		RetryNow:        b(i18n.HelpRetryNow, "ctrl+r", "ctrl+r"),
		FaultDesk:       b(i18n.HelpFaultDesk, "ctrl+k", "ctrl+k"),
		Renewal:         b(i18n.HelpRenewal, "ctrl+n", "ctrl+n"),
		Summary:         b(i18n.HelpSummary, "ctrl+o", "ctrl+o"), // o: output, to print
		ConfirmDispense: b(i18n.HelpConfirmDispense, "F10", "f10"),
		Void:            b(i18n.HelpVoid, "F8", "f8"),
	}
}

// All returns every binding, for the safety check and the full help.
func (k KeyMap) All() []key.Binding {
	return []key.Binding{k.Quit, k.Help, k.Back, k.Submit, k.Up, k.Down, k.NextField, k.PrevField,
		k.Sort, k.Filter, k.Detail, k.Search, k.Lock, k.ForceFault, k.Outage, k.Dispense, k.ConfirmDispense, k.Void,
		k.Paper, k.Telephone, k.Essential, k.Sync, k.Conflicts, k.RetryNow, k.FaultDesk, k.Renewal, k.Summary}
}

// Help is a set of bindings for bubbles/help: the short help is the first
// group, the full help every group.
type Help [][]key.Binding

// ShortHelp implements help.KeyMap.
func (h Help) ShortHelp() []key.Binding {
	if len(h) == 0 {
		return nil
	}
	return h[0]
}

// FullHelp implements help.KeyMap.
func (h Help) FullHelp() [][]key.Binding { return h }
