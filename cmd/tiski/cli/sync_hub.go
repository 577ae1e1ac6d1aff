package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/hub"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// SyncHub is the hub section of `tiski sync status` (issue 19): whether a
// hub is configured and reachable, this counter's records not yet shared,
// and each other counter as the hub and this journal know it. Its JSON
// keys are stable; "configured" false means none of the rest applies.
type SyncHub struct {
	Configured     bool       `json:"configured"`
	URL            string     `json:"url,omitempty"` // without any password
	Reachable      bool       `json:"reachable"`
	Error          string     `json:"error,omitempty"` // why it is not reachable
	Unshared       int64      `json:"unshared"`
	OldestUnshared time.Time  `json:"oldest_unshared,omitzero"`
	Counters       []SyncPeer `json:"counters"`
}

// SyncPeer is another counter of the pharmacy: its last word in the hub's
// counters bucket (mode, last contact, pending and unshared records) and
// what this journal holds of it.
type SyncPeer struct {
	Counter      string    `json:"counter"`
	Mode         string    `json:"mode,omitempty"`
	ModeSince    time.Time `json:"mode_since,omitzero"`
	LastContact  time.Time `json:"last_contact,omitzero"`
	Pending      int64     `json:"pending"`
	Unshared     int64     `json:"unshared"`
	RecordsHere  int64     `json:"records_here"`
	LastReceived time.Time `json:"last_received,omitzero"`
}

// hubWait bounds the read of the hub's counters bucket for sync status.
const hubWait = 2 * time.Second

// syncHub reads the hub section after the catch-up: the share lane and
// the peer counters from the journal, and, when the hub answers, every
// counter's last announced state.
func syncHub(ctx context.Context, f *Factory, j *journal.Journal) (SyncHub, error) {
	h, ok, err := hubLane(ctx, f, j)
	if err != nil || !ok {
		return h, err
	}
	kept, err := j.PeerCounters(ctx)
	if err != nil {
		return h, err
	}
	peers := map[string]*SyncPeer{}
	peer := func(name string) *SyncPeer {
		if p, ok := peers[name]; ok {
			return p
		}
		p := &SyncPeer{Counter: name}
		peers[name] = p
		return p
	}
	for _, k := range kept {
		p := peer(k.Counter)
		p.RecordsHere, p.LastReceived = k.Records, k.Received
	}
	hctx, cancel := context.WithTimeout(ctx, hubWait)
	defer cancel()
	c, err := f.Hub(hctx)
	var states []hub.CounterState
	if err == nil {
		// This counter says how it stands too, so that a PC where only
		// commands run shows its last contact at the others.
		if err = c.Announce(hctx, j); err == nil {
			states, err = c.Counters(hctx)
		}
	}
	if err != nil {
		h.Error = err.Error()
	} else {
		h.Reachable = c.Connected()
		for _, st := range states {
			if st.Counter == c.Counter() {
				continue // this counter: the rest of sync status
			}
			p := peer(st.Counter)
			p.Mode, p.ModeSince, p.LastContact = st.Mode, st.ModeSince, st.At
			p.Pending, p.Unshared = st.Pending, st.Unshared
		}
	}
	for _, p := range peers {
		h.Counters = append(h.Counters, *p)
	}
	slices.SortFunc(h.Counters, func(a, b SyncPeer) int { return strings.Compare(a.Counter, b.Counter) })
	return h, nil
}

// redactURL drops a password from the hub's URL before it is printed.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// printSyncHub prints the hub section of `tiski sync status`.
func printSyncHub(out io.Writer, l i18n.Lang, h SyncHub, now time.Time) {
	fmt.Fprintln(out)
	fmt.Fprintln(out, l.T(i18n.CLIHubTitle))
	if !h.Configured {
		writeFields(out, l, true, 0, hubLabels, [][2]string{{l.T(i18n.CLIHubState), l.T(i18n.CLIHubNotConfigured)}})
		return
	}
	state := l.T(i18n.CLIHubReachable)
	if !h.Reachable {
		state = l.T(i18n.CLIHubUnreachable, h.Error)
	}
	writeFields(out, l, true, 0, hubLabels, [][2]string{
		{l.T(i18n.CLIHubURL), h.URL},
		{l.T(i18n.CLIHubState), state},
		{l.T(i18n.CLIHubUnshared), fmt.Sprint(h.Unshared)},
		{l.T(i18n.CLIHubOldestUnshared), ago(l, h.OldestUnshared, now, l.T(i18n.CLINone))},
	})
	fmt.Fprintln(out, l.T(i18n.CLIHubCounters)+":")
	if len(h.Counters) == 0 {
		fmt.Fprintln(out, "  "+l.T(i18n.CLIHubNoCounters))
	}
	for _, p := range h.Counters {
		if !p.LastContact.IsZero() {
			mode := modeText(l, rx.Mode(p.Mode))
			if !p.ModeSince.IsZero() {
				mode += " (" + p.ModeSince.Local().Format("2006-01-02 15:04:05") + ")"
			}
			fmt.Fprintln(out, "  "+l.T(i18n.CLIHubCounterLine, p.Counter, mode, ago(l, p.LastContact, now, l.T(i18n.CLINever)), p.Pending, p.Unshared))
		}
		if p.RecordsHere > 0 {
			fmt.Fprintln(out, "  "+l.T(i18n.CLIHubCounterKept, p.Counter, p.RecordsHere, ago(l, p.LastReceived, now, l.T(i18n.CLINever))))
		}
	}
}

// hubLane is the hub section's start, for sync status and watch alike:
// whether a hub is configured, where, and this counter's share lane.
func hubLane(ctx context.Context, f *Factory, j *journal.Journal) (h SyncHub, configured bool, err error) {
	h = SyncHub{Counters: []SyncPeer{}}
	o, ok, err := f.HubOptions()
	if err != nil || !ok {
		return h, false, err
	}
	h.Configured, h.URL = true, redactURL(o.URL)
	lane, err := j.Share(ctx)
	if err != nil {
		return h, true, err
	}
	h.Unshared, h.OldestUnshared = lane.Unshared, lane.Oldest
	return h, true, nil
}

var hubLabels = []i18n.Key{i18n.CLIHubURL, i18n.CLIHubState, i18n.CLIHubUnshared, i18n.CLIHubOldestUnshared}

// watchHub is the hub as `tiski sync watch` sees it each time it looks:
// the running sharer's state, without asking the hub anything more.
func watchHub(ctx context.Context, f *Factory, j *journal.Journal) (SyncHub, error) {
	h, ok, err := hubLane(ctx, f, j)
	if err != nil || !ok {
		return h, err
	}
	if sh := f.sharer.Load(); sh != nil {
		st := sh.Status()
		h.Reachable, h.Error = st.Connected, st.LastError
	}
	return h, nil
}
