package record

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// RuleDuplicateJournal warns that a paper or telephone prescription being
// recorded may be one the pharmacy recorded already, at this counter or at
// another (issue 19: the duplicate check sees every counter). The upload's
// check against the patient's e-prescriptions (queue, possible-duplicate)
// cannot see it: a prescription recorded during the outage is not in the
// Prescription Centre yet.
const RuleDuplicateJournal = policy.RuleDuplicateJournal

// DuplicateWindow is how far apart two prescriptions' issue dates may be
// and still look like one: the upload's duplicate window
// (queue.DefaultDuplicateWindow).
const DuplicateWindow = 7 * 24 * time.Hour

// duplicates warns of the paper and telephone prescriptions in the journal,
// this counter's and the other counters' (journal.Filter.Peers), that p may
// duplicate: the same patient and prescriber, the same ATC code or the same
// substitution group (a generic: another product Fimea names
// interchangeable, issue 24), issued within the duplicate window, and not
// voided. The groups are the records' own: a record stores its medicine as
// the catalogue stated it. A warning, not a refusal: a prescriber may well
// write the same medicine twice, and the pharmacist, who sees both,
// decides.
func (s *Service) duplicates(ctx context.Context, p rx.Prescription) ([]policy.Decision, error) {
	group := strings.TrimSpace(p.Medicine.SubstitutionGroup)
	if p.Patient == "" || (p.Medicine.ATC == "" && group == "") || normReg(p.Prescriber.Registration) == "" {
		return nil, nil
	}
	recs, err := s.Journal.List(ctx, journal.Filter{Patient: p.Patient, Peers: true,
		Kinds: []journal.Kind{journal.KindPaperPrescription, journal.KindTelephonePrescription}})
	if err != nil {
		return nil, err
	}
	var out []policy.Decision
	for _, r := range recs {
		if r.ID == p.RecordID {
			continue
		}
		var q rx.Prescription
		if json.Unmarshal(r.Body, &q) != nil || normReg(q.Prescriber.Registration) != normReg(p.Prescriber.Registration) {
			continue
		}
		sameATC := p.Medicine.ATC != "" && q.Medicine.ATC == p.Medicine.ATC
		generic := !sameATC && group != "" && strings.TrimSpace(q.Medicine.SubstitutionGroup) == group
		if !sameATC && !generic {
			continue
		}
		if gap := q.Issued.Sub(p.Issued).Abs(); gap > DuplicateWindow {
			continue
		}
		voided, err := s.voided(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		if voided {
			continue
		}
		if generic && !sameProduct(q.Medicine, p.Medicine) {
			out = append(out, policy.DuplicateGeneric(q.Medicine, q.Prescriber, q.Issued, r.Terminal, r.ID, p.Medicine))
			continue
		}
		out = append(out, duplicateDecision(q, r))
	}
	return out, nil
}

// sameProduct reports whether a and b are one product: the same name,
// strength and form.
func sameProduct(a, b rx.Medicine) bool {
	same := func(x, y string) bool { return strings.EqualFold(strings.TrimSpace(x), strings.TrimSpace(y)) }
	return same(a.Name, b.Name) && same(a.Strength, b.Strength) && same(a.Form, b.Form)
}

func normReg(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// duplicateDecision is the warning that p may duplicate q, recorded as r.
func duplicateDecision(q rx.Prescription, r journal.Record) policy.Decision {
	return policy.DuplicateJournal(q.Medicine, q.Prescriber, q.Issued, r.Terminal, r.ID)
}
