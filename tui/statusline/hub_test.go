package statusline

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/mode"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
)

// withHub returns env's status line fed with the hub's state too.
func withHub(t *testing.T, env *tuitest.Env, lang i18n.Lang, w, h int) Model {
	t.Helper()
	m := fed(t, env, lang, w, h)
	cmd := FetchHub(env.Common(lang, w, h))
	if cmd == nil {
		t.Fatal("no hub read for a counter with a hub")
	}
	m, _ = m.Update(tuitest.Run(cmd))
	return m
}

// TestHub (issue 19): with a hub the status line says whether the hub is
// reached and how many records are not yet shared, and names each other
// counter in FAULT with the time its fault began; without a hub it shows
// nothing of one.
func TestHub(t *testing.T) {
	env := tuitest.New(t)
	m := withHub(t, env, i18n.EN, 120, 24)
	if _, ok := m.Hub(); ok || strings.Contains(m.View(), "Hub") {
		t.Errorf("a counter without a hub shows one:\n%s", m.View())
	}
	down := false
	env.Services.HubConnected = &down
	env.Pending(t, 2, time.Minute)
	if v := withHub(t, env, i18n.EN, 120, 24).View(); !strings.Contains(v, "Hub: NOT CONNECTED, 2 not shared") {
		t.Errorf("hub not reached:\n%s", v)
	}

	peer := env.Peer(t, "kassa-2")
	env.Clock.Advance(time.Minute) // 10.02
	if _, err := mode.Force(t.Context(), peer.Journal, "test", tuitest.PeerPharmacist.ID); err != nil {
		t.Fatal(err)
	}
	peer.Share(t)
	up := true
	env.Services.HubConnected = &up
	m = withHub(t, env, i18n.EN, 120, 24)
	v := m.View()
	for _, want := range []string{"Hub: connected, 2 not shared", "Counter kassa-2 in fault mode since 10:02"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if st, ok := m.Hub(); !ok || len(st.Peers) != 1 || st.Peers[0].Mode != rx.ModeFault {
		t.Errorf("hub %+v, %v", st, ok)
	}
	// The other counter recovers, then is ONLINE again: it is no longer
	// named. This counter's own mode stays its own throughout.
	if _, err := mode.Auto(t.Context(), peer.Journal, tuitest.PeerPharmacist.ID); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(time.Minute) // 10.03
	change(t, peer, rx.ModeFault, rx.ModeRecovering)
	if v := withHub(t, env, i18n.EN, 120, 24).View(); !strings.Contains(v, "Counter kassa-2 recovering since 10:03") {
		t.Errorf("view lacks the other counter's recovery:\n%s", v)
	}
	env.Clock.Advance(time.Minute)
	change(t, peer, rx.ModeRecovering, rx.ModeOnline)
	m = withHub(t, env, i18n.EN, 120, 24)
	if v := m.View(); strings.Contains(v, "kassa-2") || m.Mode().Mode != rx.ModeOnline {
		t.Errorf("after the other counter's fault ended (mode %q):\n%s", m.Mode().Mode, v)
	}
}

func TestGoldenHub(t *testing.T) {
	for _, sz := range tuitest.Sizes {
		t.Run(fmt.Sprintf("%dx%d", sz.W, sz.H), func(t *testing.T) {
			env := tuitest.New(t)
			env.Pending(t, 2, 90*time.Minute)
			peer := env.Peer(t, "kassa-2")
			if _, err := mode.Force(t.Context(), peer.Journal, "test", tuitest.PeerPharmacist.ID); err != nil {
				t.Fatal(err)
			}
			peer.Share(t)
			down := false
			env.Services.HubConnected = &down
			tuitest.Golden(t, withHub(t, env, i18n.FI, sz.W, sz.H).View())
		})
	}
}

// change records a probe's mode change at the peer and shares it.
func change(t *testing.T, peer *tuitest.Peer, from, to rx.Mode) {
	t.Helper()
	if _, _, err := peer.Journal.ChangeMode(t.Context(), rx.ModeChange{From: from, To: to, Cause: "probe"}); err != nil {
		t.Fatal(err)
	}
	peer.Share(t)
}
