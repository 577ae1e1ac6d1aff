package triage

import (
	"context"

	"github.com/tiski-rx/tiski/pkg/hub"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// HubPeers reads the pharmacy's other counters from the hub's counters
// bucket, as each last announced itself (pkg/hub, Announce): whether it is
// in FAULT, and since when. It is Config.Peers for a counter with a hub.
func HubPeers(c *hub.Client) func(ctx context.Context) ([]Peer, error) {
	return func(ctx context.Context) ([]Peer, error) {
		states, err := c.Counters(ctx)
		if err != nil {
			return nil, err
		}
		var peers []Peer
		for _, st := range states {
			if st.Counter == c.Counter() {
				continue
			}
			p := Peer{Counter: st.Counter, Fault: st.Mode == string(rx.ModeFault)}
			if p.Fault {
				p.Since = st.ModeSince
			}
			peers = append(peers, p)
		}
		return peers, nil
	}
}
