package cli

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
	"github.com/tiski-rx/tiski/tui/common"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// Lang is the language of the commands' human output: --lang, then
// TISKI_LANG, then config.toml's language, then Finnish, the counter's
// default (DESIGN §7), so that the counter and the command line at one
// pharmacy speak alike. JSON output is the same in every language: scripts
// read --json.
func (f *Factory) Lang() i18n.Lang {
	if c, err := f.Config(); err == nil {
		if l, ok := i18n.Parse(c.Language); ok {
			return l
		}
	}
	// The configuration does not load (the error says why, in this
	// language if one was asked for by flag or environment).
	if l, ok := i18n.Parse(f.configFlags["language"]); ok {
		return l
	}
	if f.Getenv != nil {
		for _, name := range []string{"TISKI_LANG", "TISKI_LANGUAGE"} {
			if l, ok := i18n.Parse(f.Getenv(name)); ok {
				return l
			}
		}
	}
	return i18n.Default
}

// checkLang refuses a --lang value that names no language of tiski, at
// once and as a usage error, naming the accepted values.
func checkLang(v string) error {
	if _, ok := i18n.Parse(v); !ok {
		names := make([]string, 0, len(i18n.Langs()))
		for _, l := range i18n.Langs() {
			names = append(names, string(l))
		}
		return fmt.Errorf("%q is not a language of tiski: give one of %s (Finnish, Swedish, English)", v, strings.Join(names, ", "))
	}
	return nil
}

// writeFields writes label–value lines with the values aligned: "Label:"
// (colon true) or "Label" padded to the widest of labels in l, and to at
// least minWidth, so the column does not move with the lines present.
func writeFields(out io.Writer, l i18n.Lang, colon bool, minWidth int, labels []i18n.Key, rows [][2]string) {
	suffix := ""
	if colon {
		suffix = ":"
	}
	width := minWidth
	for _, k := range labels {
		width = max(width, utf8.RuneCountInString(l.T(k)+suffix))
	}
	pad := 2
	if !colon {
		pad = 1
	}
	for _, r := range rows {
		label := r[0] + suffix
		fmt.Fprintf(out, "%s%s%s\n", label, strings.Repeat(" ", width+pad-utf8.RuneCountInString(label)), r[1])
	}
}

// modeText names a mode as the counter's status line does.
func modeText(l i18n.Lang, m rx.Mode) string {
	k, ok := map[rx.Mode]i18n.Key{rx.ModeOnline: i18n.ModeOnline, rx.ModeFault: i18n.ModeFault, rx.ModeRecovering: i18n.ModeRecovering}[m]
	if !ok {
		return string(m)
	}
	return l.T(k)
}

// In English the tables keep the codes as they are, which are the values
// of --state and of the JSON; in Finnish and Swedish they show the
// counter's words for them.

// stateText names an outbox state.
func stateText(l i18n.Lang, s journal.OutboxState) string {
	if l == i18n.EN {
		return string(s)
	}
	return common.StateName(l, s)
}

// kindText names a kind of record.
func kindText(l i18n.Lang, kind string) string {
	if l == i18n.EN {
		return kind
	}
	return common.KindName(l, journal.Kind(kind))
}

// conflictText names a kind of conflict.
func conflictText(l i18n.Lang, kind string) string {
	if l == i18n.EN {
		return kind
	}
	return common.ConflictName(l, queue.ConflictKind(kind))
}
