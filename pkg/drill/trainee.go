package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// perform does one task as the scripted trainee tr and writes what came of
// it.
func (r *runner) perform(ctx context.Context, n int, task Task, tr *Trainee) {
	rc, err := r.do(ctx, n, tr, task)
	switch {
	case err == nil:
		if tr.Kick != nil {
			tr.Kick()
		}
		r.mu.Lock()
		r.done[n] = rc.Record.ID
		r.mu.Unlock()
		r.emit(Event{Type: EvDone, Task: n, Counter: counterEvent(task.Counter), Kind: string(rc.Record.Kind), Record: rc.Record.ID})
	case ctx.Err() != nil:
		return
	default:
		r.refused(n, err)
	}
}

// refused writes that the counter refused task n (0: something a trainee
// did at the counter, not a scripted task), and the policy rules that
// refused it.
func (r *runner) refused(n int, err error) {
	r.emit(Event{Type: EvRefused, Task: n, Detail: err.Error(), Rule: strings.Join(policyRules(err), ",")})
}

// policyRules lists the policy rules that refused a record.
func policyRules(err error) []string {
	var v *rx.ValidationError
	if !errors.As(err, &v) {
		return nil
	}
	var rules []string
	for _, p := range v.Problems {
		if rule, ok := strings.CutPrefix(p.Field, "policy "); ok {
			rules = append(rules, rule)
		}
	}
	return rules
}

// do records the task through pkg/record, as a pharmacist at the counter
// would.
func (r *runner) do(ctx context.Context, n int, tr *Trainee, task Task) (record.Receipt, error) {
	switch task.Do {
	case ActResolve:
		return r.resolve(ctx, tr, task)
	case ActReport:
		return r.report(ctx, tr, task)
	}
	med, ok := tr.Fixtures.Medicine(task.Medicine)
	if !ok {
		return record.Receipt{}, fmt.Errorf("no fixture medicine %s", task.Medicine)
	}
	now := r.now()
	d := rx.Dispensing{Patient: task.Patient, PrescriptionID: task.Prescription, Medicine: med, VNR: task.Package, Quantity: task.Quantity}
	switch task.Do {
	case ActDispense:
		return tr.Record.Dispense(ctx, tr.Who, d, record.DispenseOptions{})
	case ActEssential:
		// The essential-medication form opens only in FAULT: a trainee
		// waits for the status line to show it.
		if err := r.waitForFault(ctx, r.journalOf(task.Counter), tr.Wait, "so the essential-medication form never opened"); err != nil {
			return record.Receipt{}, err
		}
		d.Essential, d.Basis = true, task.Basis
		return tr.Record.Dispense(ctx, tr.Who, d, record.DispenseOptions{UnitsPerDay: task.UnitsPerDay})
	case ActPaper, ActTelephone:
		i := slices.IndexFunc(tr.Fixtures.Prescribers, func(p rx.Prescriber) bool { return p.ID == task.Prescriber })
		if i < 0 {
			return record.Receipt{}, fmt.Errorf("no fixture prescriber %s", task.Prescriber)
		}
		pr := tr.Fixtures.Prescribers[i]
		p := rx.Prescription{Patient: task.Patient, Prescriber: pr, Medicine: med, Issued: now.Add(-time.Hour),
			Dosage: task.Dosage, Quantity: max(task.Quantity, task.Prescribed), Reason: task.Reason}
		d.PrescriptionID = ""
		if task.Do == ActPaper {
			return tr.Record.Paper(ctx, tr.Who, p, &d)
		}
		p.Telephone = &rx.TelephoneCall{Phone: pr.Phone, Time: now.Add(-10 * time.Minute), Verification: "called back to the prescriber's known number"}
		return tr.Record.Telephone(ctx, tr.Who, p, &d)
	case ActJournal:
		id, err := r.seePrescription(ctx, n, tr, task)
		if err != nil {
			return record.Receipt{}, err
		}
		d.PrescriptionID, d.PrescriptionRecord = "", id
		return tr.Record.Dispense(ctx, tr.Who, d, record.DispenseOptions{})
	}
	return record.Receipt{}, fmt.Errorf("unknown action %q", task.Do)
}

// resolve waits, as a pharmacist at the conflicts screen would, until the
// record of the task it resolves is in review, and resolves it.
func (r *runner) resolve(ctx context.Context, tr *Trainee, task Task) (record.Receipt, error) {
	if tr.Resolve == nil {
		return record.Receipt{}, errors.New("this drill cannot resolve conflicts: no resolver given")
	}
	deadline := r.now().Add(tr.Wait)
	for {
		r.mu.Lock()
		id := r.done[task.Resolves]
		r.mu.Unlock()
		if id != "" {
			e, err := r.cfg.Journal.Outbox(ctx, id)
			if err == nil && (e.State == journal.OutboxConflict || e.State == journal.OutboxRejected || e.State == journal.OutboxParked) {
				rec, err := tr.Resolve(ctx, tr.Who, id, task.Resolution, task.Reason)
				return record.Receipt{Record: rec}, err
			}
		}
		if r.now().After(deadline) {
			if id == "" {
				return record.Receipt{}, fmt.Errorf("task %d left no record to resolve", task.Resolves)
			}
			return record.Receipt{}, fmt.Errorf("task %d's record did not come up for review within %s: nothing to resolve", task.Resolves, tr.Wait)
		}
		select {
		case <-ctx.Done():
			return record.Receipt{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// counterEvent is a task's counter as events write it: 0 for the first.
func counterEvent(n int) int {
	if n <= 1 {
		return 0
	}
	return n
}

// seePrescription finds, at the task's counter, the prescription an earlier
// task recorded, perhaps at another counter, as a pharmacist searching the
// patient would: it waits up to the trainee's Wait for the hub to bring
// it. It writes the quantity the counter shows left on it before this
// dispensing (EvSeen) and returns its record id.
func (r *runner) seePrescription(ctx context.Context, n int, tr *Trainee, task Task) (string, error) {
	jn := r.journalOf(task.Counter)
	deadline := r.now().Add(tr.Wait)
	for {
		r.mu.Lock()
		id := r.done[task.FromTask]
		r.mu.Unlock()
		var rec journal.Record
		err := errors.New("not recorded yet")
		if id != "" {
			rec, err = jn.GetAny(ctx, id)
		}
		if err == nil {
			left, err := leftOn(ctx, jn, rec)
			if err != nil {
				return "", err
			}
			r.emit(Event{Type: EvSeen, Task: n, Counter: counterEvent(task.Counter), Record: id, Patient: hetu.Mask(rec.Patient), Left: &left})
			return id, nil
		}
		if r.now().After(deadline) {
			if id == "" {
				return "", fmt.Errorf("task %d left no prescription to dispense against", task.FromTask)
			}
			return "", fmt.Errorf("counter %d did not see task %d's prescription within %s: %v", max(task.Counter, 1), task.FromTask, tr.Wait, err)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// leftOn is the quantity left on the journal prescription rec as the
// journal j shows it: the prescribed total less what every counter
// dispensed against it and did not void.
func leftOn(ctx context.Context, j Journal, rec journal.Record) (int, error) {
	var p rx.Prescription
	if err := json.Unmarshal(rec.Body, &p); err != nil {
		return 0, fmt.Errorf("prescription %s: %w", rec.ID, err)
	}
	all, err := j.List(ctx, journal.Filter{Kinds: []journal.Kind{journal.KindDispensing, journal.KindVoid}, Patient: rec.Patient, Peers: true})
	if err != nil {
		return 0, err
	}
	voided := map[string]bool{}
	for _, x := range all {
		if x.Kind == journal.KindVoid {
			voided[x.RefersTo] = true
		}
	}
	dispensed := 0
	for _, x := range all {
		var b record.DispensingBody
		if x.Kind == journal.KindDispensing && !voided[x.ID] && json.Unmarshal(x.Body, &b) == nil && b.PrescriptionRecord == rec.ID {
			dispensed += b.Quantity
		}
	}
	return max(p.Total()-dispensed, 0), nil
}

// report tells the helpdesk (or Kela) of the fault the counter shows, and
// marks it, as a pharmacist must at once when no notice of Kela's has
// reached the pharmacy: a trainee reports what the status line shows, so
// the script waits for FAULT first.
func (r *runner) report(ctx context.Context, tr *Trainee, task Task) (record.Receipt, error) {
	jn := r.journalOf(task.Counter)
	if err := r.waitForFault(ctx, jn, tr.Wait, "so there was no fault to report"); err != nil {
		return record.Receipt{}, err
	}
	fr, err := jn.(FaultDesk).MarkFaultReported(ctx, journal.FaultReport{To: task.To, Ref: task.Ref, Note: task.Note, By: tr.Who.ID}) // checked by Run
	if err != nil {
		return record.Receipt{}, err
	}
	return record.Receipt{Record: journal.Record{ID: fr.ID, Kind: journal.KindFaultReport, Time: fr.Time}}, nil
}

// waitForFault waits until the journal's mode is FAULT; then says what
// came of it when it does not come within limit.
func (r *runner) waitForFault(ctx context.Context, jn Journal, limit time.Duration, then string) error {
	deadline := r.now().Add(limit)
	for {
		st, err := jn.Mode(ctx)
		if err == nil && st.Mode == rx.ModeFault {
			return nil
		}
		if r.now().After(deadline) {
			return fmt.Errorf("the counter did not show FAULT within %s, %s", limit, then)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
