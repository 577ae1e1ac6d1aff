package statusline

import (
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
)

// withCatalogue returns env's status line fed with the catalogue's state
// too.
func withCatalogue(t *testing.T, env *tuitest.Env, lang i18n.Lang) string {
	t.Helper()
	m := fed(t, env, lang, 160, 24)
	m, _ = m.Update(tuitest.Run(FetchCatalogue(env.Common(lang, 160, 24))))
	return m.View()
}

// TestCatalogueStale (issue 24): in FAULT the status line says when the
// medicine catalogue missed its due update (the 1st or 15th after its
// import) or none is imported, in three languages; a current catalogue,
// and any catalogue online, say nothing.
func TestCatalogueStale(t *testing.T) {
	env := tuitest.New(t) // 2026-03-02 10:00 UTC; the fixtures' catalogue imported then, due 15.3.
	const stale = "Medicine catalogue out of date"
	if v := withCatalogue(t, env, i18n.EN); strings.Contains(v, "catalogue") {
		t.Errorf("online, current: %s", v)
	}
	env.Fault(t)
	if v := withCatalogue(t, env, i18n.EN); strings.Contains(v, "catalogue") {
		t.Errorf("in FAULT, current: %s", v)
	}
	env.Clock.Advance(13*24*time.Hour - 10*time.Hour - time.Minute) // 14.3. 23:59
	if v := withCatalogue(t, env, i18n.EN); strings.Contains(v, stale) {
		t.Errorf("in FAULT a minute before it is due: %s", v)
	}
	env.Clock.Advance(time.Minute) // 15.3. 00:00: the update is due
	for lang, want := range map[i18n.Lang]string{
		i18n.EN: "Medicine catalogue out of date: update was due 15.3.2026",
		i18n.FI: "Lääkeluettelo vanhentunut: päivitys erääntyi 15.3.2026",
		i18n.SV: "Läkemedelskatalogen föråldrad: uppdateringen var 15.3.2026",
	} {
		if v := withCatalogue(t, env, lang); !strings.Contains(v, want) {
			t.Errorf("%s, in FAULT on the due day: view lacks %q:\n%s", lang, want, v)
		}
	}

	online := tuitest.New(t)
	online.Clock.Advance(30 * 24 * time.Hour)
	if v := withCatalogue(t, online, i18n.EN); strings.Contains(v, stale) {
		t.Errorf("online, a month old: shown\n%s", v)
	}

	bare := tuitest.New(t)
	bare.NoCatalogue(t)
	if v := withCatalogue(t, bare, i18n.EN); strings.Contains(v, "No medicine catalogue") {
		t.Errorf("online, none: shown\n%s", v)
	}
	bare.Fault(t)
	for lang, want := range map[i18n.Lang]string{
		i18n.EN: "No medicine catalogue: IT must run tiski catalogue sync",
		i18n.FI: "Ei lääkeluetteloa: IT ajaa tiski catalogue sync",
		i18n.SV: "Ingen läkemedelskatalog: IT kör tiski catalogue sync",
	} {
		if v := withCatalogue(t, bare, lang); !strings.Contains(v, want) {
			t.Errorf("%s, in FAULT with none: view lacks %q:\n%s", lang, want, v)
		}
	}
}

// BenchmarkFetchCatalogue is the status line's read of the catalogue at
// each refresh: a stat of the file, no query.
func BenchmarkFetchCatalogue(b *testing.B) {
	env := tuitest.New(b)
	c := env.Common(i18n.EN, 160, 24)
	for b.Loop() {
		if msg := tuitest.Run(FetchCatalogue(c)).(CatalogueMsg); msg.Err != nil {
			b.Fatal(msg.Err)
		}
	}
}
