package keymap

import (
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// TestSafetyKeysNotOverloaded fails when the confirm-dispensing or void key
// is also bound to another action.
func TestSafetyKeysNotOverloaded(t *testing.T) {
	km := New(i18n.Default)
	for _, tt := range []struct {
		name string
		b    key.Binding
	}{{"confirm", km.ConfirmDispense}, {"void", km.Void}} {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range tt.b.Keys() {
				n := 0
				for _, other := range km.All() {
					for _, ok := range other.Keys() {
						if ok == k {
							n++
						}
					}
				}
				if n != 1 {
					t.Errorf("key %q is bound %d times", k, n)
				}
			}
		})
	}
}

// TestEveryBindingHasHelp checks that each binding has keys and a help
// text in every language, so the generated help names every action.
func TestEveryBindingHasHelp(t *testing.T) {
	for _, l := range i18n.Langs() {
		t.Run(string(l), func(t *testing.T) {
			for i, b := range New(l).All() {
				if len(b.Keys()) == 0 || b.Help().Key == "" || b.Help().Desc == "" {
					t.Errorf("binding %d: keys %v, help %+v", i, b.Keys(), b.Help())
				}
			}
		})
	}
}

func TestHelpGenerated(t *testing.T) {
	km := New(i18n.EN)
	h := help.New()
	h.ShowAll = true
	out := h.View(Help{{km.Quit, km.Help}, {km.ConfirmDispense}})
	for _, want := range []string{"ctrl+c", "quit", "F1", "help", "F10", "confirm"} {
		if !strings.Contains(out, want) {
			t.Errorf("help %q lacks %q", out, want)
		}
	}
}
