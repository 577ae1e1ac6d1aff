package tuitest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/common"
)

// PeerPharmacist works at the other counter of the tests; the counter
// under test does not have her in its users table.
var PeerPharmacist = rx.Pharmacist{ID: "virtanen", Name: "Aino Virtanen", Registration: "10100054321", Role: rx.RolePharmacist}

// Peer is another counter of the same pharmacy (issue 19): a real journal
// of its own, on the Env's clock, whose records reach the Env's journal
// through Share exactly as pkg/hub keeps them on receipt (AddPeer, with
// its hash and chain checks). The hub's transport itself is tested in
// pkg/hub and by the binary's tmux test.
type Peer struct {
	Journal  *journal.Journal
	Recorder *record.Service
	env      *Env
}

// Peer opens another counter named terminal.
func (e *Env) Peer(t testing.TB, terminal string) *Peer {
	t.Helper()
	j, err := journal.Open(context.Background(), filepath.Join(t.TempDir(), "peer.db"), journal.Options{Terminal: terminal, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return &Peer{Journal: j, env: e, Recorder: &record.Service{Journal: j, Policy: policy.Default(), Pharmacy: Pharmacy, Now: e.Clock.Now}}
}

// Share hands every record of the peer's share lane to the Env's journal
// and moves the lane on, as the peer's sharer and the Env's receiver do
// through the hub.
func (p *Peer) Share(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	recs, err := p.Journal.ShareTail(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if _, err := p.env.Journal.AddPeer(ctx, r); err != nil {
			t.Fatalf("keep record %d of the peer: %v", r.Seq, err)
		}
	}
	if len(recs) > 0 {
		if err := p.Journal.MarkShared(ctx, recs[len(recs)-1].Seq); err != nil {
			t.Fatal(err)
		}
	}
}

// Hub implements common.Hubs for a counter of the tests with a hub: the
// share lane of the Env's journal, the hub reached when Connected, and the
// peers' modes from their mode changes kept here, as cmd/tiski's counter
// reads them.
func (s *Services) Hub(ctx context.Context) (common.HubStatus, bool, error) {
	if s.HubConnected == nil {
		return common.HubStatus{}, false, nil
	}
	lane, err := s.Journal.Share(ctx)
	if err != nil {
		return common.HubStatus{}, true, err
	}
	modes, err := s.Journal.List(ctx, journal.Filter{Peers: true, Kinds: []journal.Kind{journal.KindModeChange}})
	if err != nil {
		return common.HubStatus{}, true, err
	}
	return common.HubStatus{Connected: *s.HubConnected, Unshared: lane.Unshared, Peers: common.PeerModes(modes)}, true, nil
}
