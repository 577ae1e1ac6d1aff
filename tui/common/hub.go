package common

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// HubStatus is the pharmacy's hub at a glance, for the status line (issue
// 19): whether this counter reaches the hub, how many of its records the
// other counters have not yet got, and the other counters not ONLINE.
type HubStatus struct {
	Connected bool
	Unshared  int64
	// Peers are the other counters whose last shared mode is not ONLINE,
	// ordered by counter. Each counter's own probe decides its own mode:
	// these are shown, never followed.
	Peers []PeerMode
}

// PeerMode is another counter's mode as it last shared it.
type PeerMode struct {
	Counter string
	Mode    rx.Mode
	Since   time.Time
}

// Hubs is offered by the services of a counter with a hub configured. ok
// is false when no hub is configured: the status line then shows nothing
// of a hub. Services without it (training, demo, drills without a hub,
// tests) have no hub.
type Hubs interface {
	Hub(ctx context.Context) (st HubStatus, ok bool, err error)
}

// Hub reads the hub's state through svc when it offers one; ok is false
// without a hub.
func Hub(ctx context.Context, svc Services) (HubStatus, bool, error) {
	h, ok := svc.(Hubs)
	if !ok {
		return HubStatus{}, false, nil
	}
	return h.Hub(ctx)
}

// PeerModes reads the other counters' modes from their mode changes kept
// from the hub (journal.Filter{Peers: true, Kinds: mode_change}, in the
// order they happened): the last change of each counter decides, and the
// counters not ONLINE are returned, ordered by counter. This counter's own
// records are skipped.
func PeerModes(recs []journal.Record) []PeerMode {
	last := map[string]PeerMode{}
	for _, r := range recs {
		if !r.Peer || r.Kind != journal.KindModeChange {
			continue
		}
		var b struct {
			To rx.Mode `json:"to"`
		}
		if json.Unmarshal(r.Body, &b) != nil || b.To == "" {
			continue
		}
		if p, ok := last[r.Terminal]; ok && r.Time.Before(p.Since) {
			continue
		}
		last[r.Terminal] = PeerMode{Counter: r.Terminal, Mode: b.To, Since: r.Time}
	}
	var out []PeerMode
	for _, p := range last {
		if p.Mode != rx.ModeOnline {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b PeerMode) int { return strings.Compare(a.Counter, b.Counter) })
	return out
}

// PeerLookback is how far before this counter's outage the other counters'
// records still show in patient search: the patient who was at another
// counter this morning, during that counter's own outage, is shown too.
const PeerLookback = 24 * time.Hour

// OutageRecords picks, from a patient's records of every counter
// (journal.Filter{Patient: …, Peers: true}), those patient search shows in
// FAULT mode: this counter's records that happened at or after since, the
// start of its outage, and the other counters' records made at or after
// PeerLookback before it. The dispensings against a journal prescription
// picked, and the voids of records picked, are picked too whenever they
// were made, so that what is left of it (JournalLeft) counts every
// counter's dispensings.
func OutageRecords(recs []journal.Record, since time.Time) []journal.Record {
	cutoff := since.Add(-PeerLookback)
	picked := map[string]bool{}
	for _, r := range recs {
		if r.Peer && !r.CreatedAt.Before(cutoff) || !r.Peer && !r.Time.Before(since) {
			picked[r.ID] = true
		}
	}
	for _, r := range recs { // dispensings first, then the voids of what is picked
		if !picked[r.ID] && r.Kind == journal.KindDispensing && picked[drawsOn(r)] {
			picked[r.ID] = true
		}
	}
	var out []journal.Record
	for _, r := range recs {
		if picked[r.ID] || r.Kind == journal.KindVoid && picked[r.RefersTo] {
			out = append(out, r)
		}
	}
	return out
}

// drawsOn is the journal prescription a dispensing draws on, or "".
func drawsOn(r journal.Record) string {
	var b struct {
		PrescriptionRecord string `json:"prescription_record"`
	}
	_ = json.Unmarshal(r.Body, &b)
	return b.PrescriptionRecord
}

// JournalLeft is what is left of the journal prescription p among recs,
// the records of its patient at every counter: its total less the
// dispensings against it that were not voided. ok is false when p is not
// a paper or telephone prescription, or was recorded without a quantity.
func JournalLeft(p journal.Record, recs []journal.Record) (left, total int, unit string, ok bool) {
	if p.Kind != journal.KindPaperPrescription && p.Kind != journal.KindTelephonePrescription {
		return 0, 0, "", false
	}
	var rxp rx.Prescription
	if json.Unmarshal(p.Body, &rxp) != nil || rxp.Quantity <= 0 {
		return 0, 0, "", false
	}
	voided := map[string]bool{}
	for _, r := range recs {
		if r.Kind == journal.KindVoid && r.RefersTo != "" {
			voided[r.RefersTo] = true
		}
	}
	dispensed := 0
	for _, r := range recs {
		if r.Kind != journal.KindDispensing || voided[r.ID] || drawsOn(r) != p.ID {
			continue
		}
		var d struct {
			Quantity int `json:"quantity"`
		}
		if json.Unmarshal(r.Body, &d) == nil {
			dispensed += d.Quantity
		}
	}
	return max(rxp.Total()-dispensed, 0), rxp.Total(), rxp.Medicine.Unit, true
}

// Recorder names who made a record: the name its body carries (a
// dispensing's pharmacist, a prescription's recorder), else the user id.
// Another counter's users are not in this counter's users table, so the
// body is where the name is found.
func Recorder(r journal.Record) string {
	var b struct {
		Pharmacist *rx.Pharmacist `json:"pharmacist"`
		Recorder   *rx.Pharmacist `json:"recorder"`
	}
	if json.Unmarshal(r.Body, &b) == nil {
		for _, p := range []*rx.Pharmacist{b.Pharmacist, b.Recorder} {
			if p != nil && p.Name != "" {
				return p.Name
			}
		}
	}
	return r.Pharmacist
}
