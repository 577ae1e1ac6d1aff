package record

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// Claims across the pharmacy's counters (issue 19).
//
// The journal's own check of what is left of a journal prescription (the
// append's transaction, draw.go) holds among the terminals of one journal
// and counts the other counters' dispensings it has received. Two counters
// with journals of their own can still both hand out the last pack before
// either hears of the other. So a dispensing against a journal
// prescription first claims its quantity at the pharmacy's hub with a
// compare-and-set: of two counters racing, exactly one wins, and the other
// is told what is left in the same words as the journal's check.
//
// The order is: check here, claim at the hub, append. If the append fails
// after the claim, the claim is released, as well as it can be. Every
// failure errs towards refusing, never towards handing out twice: a claim
// not released counts a quantity that was not dispensed, and the next
// claim against the prescription is refused too early, not too late. (The
// next claimer also drops from the hub's count the dispensings its journal
// knows were voided.)
//
// When the hub cannot be reached, the dispensing is recorded after the
// check here alone and carries the rule journal.RuleNotCrossChecked, with a
// warning. If such dispensings at two counters together exceed the
// prescription, journal.CheckOverdrawn makes them over-dispensed conflicts
// for review once the records meet.

// RuleNotCrossChecked is the rule id of a dispensing recorded while the
// pharmacy's hub could not be reached: policy.RuleNotCrossChecked, which
// journal.CheckOverdrawn looks for as journal.RuleNotCrossChecked.
const RuleNotCrossChecked = policy.RuleNotCrossChecked

// Claimer claims the quantities of journal prescriptions across the
// pharmacy's counters. pkg/hub implements it over the hub's claims stream;
// record.Service has none when no hub is configured, and then claims
// nothing, as before issue 19.
type Claimer interface {
	// Claim adds c.Quantity of c.Dispensing to what is claimed against the
	// journal prescription c.Prescription, unless that would exceed
	// c.Limit. A refusal is a result (OK false), not an error; an error
	// means the hub could not be asked or did not answer, and the
	// dispensing is then recorded unchecked. Claiming a dispensing claimed
	// already succeeds and changes nothing.
	Claim(ctx context.Context, c Claim) (ClaimResult, error)
	// Release takes back the claim of the dispensing, after its append
	// failed or it was voided. Releasing what is not claimed does nothing.
	Release(ctx context.Context, prescription, dispensing string) error
}

// Claim is one dispensing's claim on a journal prescription.
type Claim struct {
	Prescription string // the journal prescription's record id
	Dispensing   string // the dispensing's record id
	Quantity     int
	Limit        int // what the prescription allows in all: quantity × (1 + repeats)
	// Known are the dispensings against the prescription this counter's
	// journal holds, its own and the other counters', not voided: record
	// id → quantity. The hub counts them too, so a dispensing recorded
	// while the hub was down, or with the prescription itself, is not
	// forgotten.
	Known map[string]int
	// Voided are dispensings against the prescription this counter knows
	// were voided: the hub stops counting them.
	Voided []string
}

// ClaimResult is the hub's answer to a claim.
type ClaimResult struct {
	OK bool
	// Claimed is what was claimed against the prescription at every
	// counter, without this dispensing.
	Claimed int
}

// CrossCheck is how this counter's dispensings against journal
// prescriptions were checked across counters lately: what the status line
// shows (issue 19, "the status line says so").
type CrossCheck struct {
	// Unchecked counts the dispensings recorded without the hub's claim
	// since the last one the hub checked; 0 when the last was checked or
	// none was made.
	Unchecked int       `json:"unchecked"`
	Since     time.Time `json:"since,omitzero"` // when the first of them was recorded
	LastError string    `json:"last_error,omitempty"`
}

// crossCheck is a Service's CrossCheck, behind its lock.
type crossCheck struct {
	mu sync.Mutex
	st CrossCheck
}

// CrossCheck reports how the dispensings made through this service were
// checked across counters lately.
func (s *Service) CrossCheck() CrossCheck {
	s.cross.mu.Lock()
	defer s.cross.mu.Unlock()
	return s.cross.st
}

func (s *Service) noteCrossCheck(err error) {
	s.cross.mu.Lock()
	defer s.cross.mu.Unlock()
	if err == nil {
		s.cross.st = CrossCheck{}
		return
	}
	if s.cross.st.Unchecked == 0 {
		s.cross.st.Since = s.now()
	}
	s.cross.st.Unchecked++
	s.cross.st.LastError = err.Error()
}

// claimWait bounds a claim: the pharmacist is waiting at the counter.
const claimWait = 2 * time.Second

// claim claims nr's quantity at the hub before nr is appended. It returns
// a refusal in the journal's words when another counter claimed what is
// left; claimed is true when the hub now counts nr, so that a failed
// append releases it. When the hub cannot be asked, nr is marked
// RuleNotCrossChecked and a warning is added to the decisions.
func (s *Service) claim(ctx context.Context, nr *journal.NewRecord, decisions []policy.Decision) (claimed bool, _ []policy.Decision, _ error) {
	if s.Claimer == nil || nr.Draws == "" {
		return false, decisions, nil
	}
	prev, err := s.Journal.GetAny(ctx, nr.Draws)
	if err != nil {
		return false, decisions, err
	}
	var p rx.Prescription
	if json.Unmarshal(prev.Body, &p) != nil || p.Quantity <= 0 {
		return false, decisions, nil // nothing to count against, as in the journal's check
	}
	var d DispensingBody
	if err := json.Unmarshal(nr.Body, &d); err != nil {
		return false, decisions, err
	}
	known, voided, err := s.drawn(ctx, prev)
	if err != nil {
		return false, decisions, err
	}
	cctx, cancel := context.WithTimeout(ctx, claimWait)
	res, err := s.Claimer.Claim(cctx, Claim{Prescription: prev.ID, Dispensing: nr.ID, Quantity: d.Quantity, Limit: p.Total(), Known: known, Voided: voided})
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return false, decisions, ctx.Err()
		}
		s.noteCrossCheck(err)
		nr.Rules = append(nr.Rules, RuleNotCrossChecked)
		return false, append(decisions, policy.NotCrossChecked()), nil
	}
	s.noteCrossCheck(nil)
	if !res.OK {
		var v rx.ValidationError
		p.CheckDraw(prev.ID, d.Quantity, res.Claimed, &v)
		if len(v.Problems) == 0 {
			// The hub counts more than the quantity's own check shows
			// (a claim not released): refuse, in the same words.
			v.Add("quantity", "quantity %d is more than the %d left of journal prescription %s (%d of %d dispensed)",
				d.Quantity, max(p.Total()-res.Claimed, 0), prev.ID, res.Claimed, p.Total())
		}
		return false, decisions, &v
	}
	return true, decisions, nil
}

// release takes back a claim after its append failed. It is best effort:
// a claim left behind only makes the hub refuse too early (see above).
func (s *Service) release(ctx context.Context, prescription, dispensing string) {
	if s.Claimer == nil || prescription == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), claimWait)
	defer cancel()
	_ = s.Claimer.Release(ctx, prescription, dispensing)
}

// overdrawn checks, after a dispensing not checked across counters was
// appended, whether the other counters' dispensings already received make
// the prescription over-dispensed (journal.CheckOverdrawn). Its error is
// not the dispensing's: the record is on disk, and the check runs again
// when the next record of that prescription arrives.
func (s *Service) overdrawn(ctx context.Context, rec journal.Record) {
	if o, ok := s.Journal.(interface {
		CheckOverdrawn(context.Context, journal.Record) ([]string, error)
	}); ok {
		_, _ = o.CheckOverdrawn(ctx, rec)
	}
}

// drawn lists the dispensings against the journal prescription prev that
// this journal holds, its own and the other counters': those not voided,
// by id with their quantity, and the ids of those voided.
func (s *Service) drawn(ctx context.Context, prev journal.Record) (known map[string]int, voided []string, err error) {
	earlier, err := s.Journal.List(ctx, journal.Filter{Kinds: []journal.Kind{journal.KindDispensing}, Patient: prev.Patient, Peers: true})
	if err != nil {
		return nil, nil, err
	}
	known = map[string]int{}
	for _, r := range earlier {
		var b DispensingBody
		if json.Unmarshal(r.Body, &b) != nil || b.PrescriptionRecord != prev.ID {
			continue
		}
		v, err := s.voided(ctx, r.ID)
		if err != nil {
			return nil, nil, err
		}
		if v {
			voided = append(voided, r.ID)
		} else {
			known[r.ID] = b.Quantity
		}
	}
	return known, voided, nil
}
