package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// settleTimeout bounds the journal writes that settle an upload. They run
// on a context of their own, so an upload that finished as the Worker was
// stopped is still recorded; if the write fails anyway, the lease runs out
// and the record is sent again, which the conditional create makes safe.
const settleTimeout = 10 * time.Second

// voidWait is how long a void waits for its target, still on its way
// upstream, before looking again.
const voidWait = 2 * time.Second

// leased is an entry leased for upload, with its record and resolutions
// when they were read ahead for its whole batch (prefetch).
type leased struct {
	e   journal.OutboxEntry
	rec *journal.Record
	res *resolved
}

// prefetch reads the records and resolutions of a batch of leased entries
// in two journal reads instead of two per record. Entries leased in one
// batch are oldest first and mostly consecutive in the journal, so one
// range of sequence numbers holds their records; resolutions always come
// after the record they resolve. A resolution cannot be added while an
// entry is leased (the journal refuses to resolve a record being sent), so
// what is read here stays true until the upload settles. Whatever cannot be
// read ahead is read by handle.
func (w *Worker) prefetch(ctx context.Context, es []journal.OutboxEntry) []leased {
	out := make([]leased, len(es))
	if len(es) == 0 {
		return out
	}
	lo, hi := es[0].Seq, es[0].Seq
	for i, e := range es {
		out[i].e = e
		lo, hi = min(lo, e.Seq), max(hi, e.Seq)
	}
	recs := map[string]journal.Record{}
	if hi-lo < int64(4*len(es)) {
		list, err := w.store.List(ctx, journal.Filter{AfterSeq: lo - 1, Limit: int(hi - lo + 1)})
		if err == nil {
			for _, r := range list {
				recs[r.ID] = r
			}
		}
	}
	resolutions, err := w.store.List(ctx, journal.Filter{Kinds: []journal.Kind{journal.KindResolution}, AfterSeq: lo})
	byTarget := map[string][]journal.Record{}
	if err == nil {
		for _, r := range resolutions {
			byTarget[r.RefersTo] = append(byTarget[r.RefersTo], r)
		}
	}
	for i := range out {
		if r, ok := recs[out[i].e.RecordID]; ok {
			out[i].rec = &r
		}
		if err == nil {
			if res, rerr := readResolutions(byTarget[out[i].e.RecordID]); rerr == nil {
				out[i].res = &res
			}
		}
	}
	return out
}

// handle uploads one leased entry and settles it.
func (w *Worker) handle(ctx context.Context, l leased) {
	e := l.e
	if floor := w.floor(e.RecordID); floor.After(w.cfg.Now()) {
		// Woken early (Wake) while its server asked for a pause: keep it.
		w.retryAt(ctx, e, floor, e.LastError)
		return
	}
	var rec journal.Record
	if l.rec != nil {
		rec = *l.rec
	} else {
		var err error
		if rec, err = w.store.Get(ctx, e.RecordID); err != nil {
			w.localFailure(ctx, e, fmt.Errorf("read record: %w", err))
			return
		}
	}
	var res resolved
	if l.res != nil {
		res = *l.res
	} else {
		var err error
		if res, err = w.resolutions(ctx, e.RecordID); err != nil {
			w.localFailure(ctx, e, err)
			return
		}
	}
	switch e.Kind {
	case journal.KindDispensing:
		w.sendDispensing(ctx, e, rec, res)
	case journal.KindPaperPrescription, journal.KindTelephonePrescription:
		w.sendPrescription(ctx, e, rec, res)
	case journal.KindVoid:
		w.sendVoid(ctx, e, rec)
	case journal.KindRenewal:
		w.sendRenewal(ctx, e, rec)
	default:
		// Resolutions and mode changes are the journal's own; nothing of
		// them goes upstream.
		w.complete(ctx, []journal.OutboxEntry{e}, []string{""})
	}
}

// resolved is what pharmacists decided about a record: the e-prescription
// it was linked to, and the override reason of the latest resubmission.
type resolved struct {
	link     string // a prescription id; "" when never linked
	override string // "" unless the latest resolution is a resubmission
	resubmit bool
}

// resolutions reads the resolutions of a record.
func (w *Worker) resolutions(ctx context.Context, id string) (resolved, error) {
	recs, err := w.store.List(ctx, journal.Filter{RefersTo: id, Kinds: []journal.Kind{journal.KindResolution}})
	if err != nil {
		return resolved{}, fmt.Errorf("read resolutions: %w", err)
	}
	return readResolutions(recs)
}

// readResolutions sums up a record's resolutions, oldest first: the last
// link stands, and an override reason only from the latest resolution.
func readResolutions(recs []journal.Record) (resolved, error) {
	var r resolved
	for _, rec := range recs {
		var b ResolutionBody
		if err := json.Unmarshal(rec.Body, &b); err != nil {
			return resolved{}, fmt.Errorf("read resolution %s: %w", rec.ID, err)
		}
		r.resubmit, r.override = false, ""
		switch b.Action {
		case ActionLink:
			r.link = b.PrescriptionID
		case ActionResubmit:
			r.resubmit, r.override = true, b.Reason
		}
	}
	return r, nil
}

func (r resolved) options() []centre.Option {
	if r.override == "" {
		return nil
	}
	return []centre.Option{centre.WithOverride(r.override)}
}

// call makes one request to the Prescription Centre within the rate limit
// and reports its result to the mode machine.
func call[T any](ctx context.Context, w *Worker, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	if err := w.wait(ctx); err != nil {
		return zero, err
	}
	v, err := fn(ctx)
	if ctx.Err() != nil && err != nil {
		return zero, err // we stopped it; it says nothing about the service
	}
	if w.reporter != nil {
		w.reporter.Report(err)
	}
	w.pace(err)
	if err == nil {
		w.ok("upload")
	}
	return v, err
}

// roomHinter is a Centre that passes on the server's rate-limit hint
// (*centre.Client: the RateLimit header fields).
type roomHinter interface {
	Room() (float64, bool)
}

// pace tells the token bucket what the server said (pace.go): a 429 cuts
// the rate and holds every request for its Retry-After, with a jitter on
// top so that clients throttled in the same second do not come back in
// step; any other answer lets the rate grow. A call that got no answer
// (refused, timed out) says nothing about the server's capacity.
func (w *Worker) pace(err error) {
	var room float64
	hinted := false
	if h, ok := w.centre.(roomHinter); ok {
		room, hinted = h.Room()
	}
	if err == nil {
		w.bucket.answered(room, hinted)
		return
	}
	ce, ok := centreError(err)
	if !ok || ce.Status == 0 {
		return
	}
	if ce.Status != http.StatusTooManyRequests {
		w.bucket.answered(room, hinted)
		return
	}
	hold := w.cfg.Now().Add(ce.RetryAfter)
	if w.cfg.NoJitter {
		// The naive client waits the server's floor and no more.
		w.bucket.holdUntil(hold)
		return
	}
	w.bucket.throttled(hold.Add(jitter(max(ce.RetryAfter, time.Second))))
}

func (w *Worker) sendDispensing(ctx context.Context, e journal.OutboxEntry, rec journal.Record, res resolved) {
	d, err := decodeDispensing(rec)
	if err != nil {
		w.reject(ctx, e, Conflict{Rejected, err.Error()})
		return
	}
	if res.link != "" {
		d.PrescriptionID, d.PrescriptionRecord = res.link, ""
	} else if d.PrescriptionRecord != "" {
		// A journal prescription linked to an e-prescription was never
		// created upstream: its dispensings go against the one linked.
		// It may be another counter's, linked there (elsewhere.go).
		pres, err := w.prescriptionResolutions(ctx, d.PrescriptionRecord)
		if err != nil {
			w.localFailure(ctx, e, err)
			return
		}
		if pres.link != "" {
			d.PrescriptionID, d.PrescriptionRecord = pres.link, ""
		}
	}
	rc, err := call(ctx, w, func(ctx context.Context) (centre.Receipt, error) {
		return w.centre.RecordDispensing(ctx, d, res.options()...)
	})
	if err != nil {
		if wait := w.prescriptionElsewhere(ctx, d, err); wait != nil {
			w.backoff(ctx, []journal.OutboxEntry{e}, wait)
			return
		}
		patient := d.Patient
		if patient == "" {
			patient = rec.Patient
		}
		w.failed(ctx, []journal.OutboxEntry{e}, err, d.PrescriptionID, patient)
		return
	}
	w.complete(ctx, []journal.OutboxEntry{e}, []string{rc.ID})
}

func decodeDispensing(rec journal.Record) (rx.Dispensing, error) {
	var body record.DispensingBody
	if err := json.Unmarshal(rec.Body, &body); err != nil {
		return rx.Dispensing{}, fmt.Errorf("the journal record %s cannot be read as a dispensing: %v", rec.ID, err)
	}
	d := body.Dispensing
	if d.ID == "" {
		d.ID = rec.ID
	}
	return d, nil
}

// sendPrescription uploads a paper or telephone prescription together with
// the dispensings waiting for it, in one transaction.
func (w *Worker) sendPrescription(ctx context.Context, e journal.OutboxEntry, rec journal.Record, res resolved) {
	var p rx.Prescription
	if err := json.Unmarshal(rec.Body, &p); err != nil {
		w.reject(ctx, e, Conflict{Rejected, fmt.Sprintf("the journal record %s cannot be read as a prescription: %v", rec.ID, err)})
		return
	}
	if p.RecordID == "" {
		p.RecordID = rec.ID
	}
	if res.link != "" {
		// Linked to an e-prescription the patient already has: this one is
		// not created; its dispensings go against the linked one.
		w.complete(ctx, []journal.OutboxEntry{e}, []string{res.link})
		return
	}
	if !res.resubmit {
		dup, err := w.duplicate(ctx, p)
		if err != nil {
			w.failed(ctx, []journal.OutboxEntry{e}, err, "", "")
			return
		}
		if dup != nil {
			w.conflict(ctx, e, Conflict{PossibleDuplicate, duplicateDetail(p, *dup)})
			return
		}
	}
	deps, err := w.store.LeaseDependents(ctx, w.cfg.Owner, rec.ID, w.cfg.LeaseTTL)
	if err != nil {
		w.localFailure(ctx, e, fmt.Errorf("lease the prescription's dispensings: %w", err))
		return
	}
	var ds []rx.Dispensing
	var sent []journal.OutboxEntry // the dispensings in the transaction
	var others []journal.OutboxEntry
	for _, dep := range deps {
		if dep.Kind != journal.KindDispensing {
			others = append(others, dep)
			continue
		}
		drec, err := w.store.Get(ctx, dep.RecordID)
		var d rx.Dispensing
		if err == nil {
			d, err = decodeDispensing(drec)
		}
		if err != nil || d.PrescriptionRecord != rec.ID {
			others = append(others, dep)
			continue
		}
		dres, err := w.resolutions(ctx, dep.RecordID)
		if err != nil || dres.link != "" || dres.override != "" {
			// A dispensing with a resolution of its own goes on its own.
			others = append(others, dep)
			continue
		}
		ds = append(ds, d)
		sent = append(sent, dep)
	}
	// What is not in the transaction goes when the prescription is done.
	w.release(ctx, others, "waits for its prescription "+rec.ID)

	tr, err := call(ctx, w, func(ctx context.Context) (centre.TransactionReceipt, error) {
		return w.centre.RecordPrescription(ctx, p, ds, res.options()...)
	})
	if err == nil && len(tr.Dispensings) == len(ds) {
		ids := []string{tr.Prescription.ID}
		for _, r := range tr.Dispensings {
			ids = append(ids, r.ID)
		}
		w.complete(ctx, append([]journal.OutboxEntry{e}, sent...), ids)
		return
	}
	if err == nil {
		err = fmt.Errorf("the transaction answer has %d dispensings for the %d sent", len(tr.Dispensings), len(ds))
	}
	if len(sent) == 0 || centre.ClassOf(err) == centre.Transient || ctx.Err() != nil || storedButUnusable(err) {
		w.failed(ctx, append([]journal.OutboxEntry{e}, sent...), err, "", "")
		return
	}
	// The Prescription Centre refused the transaction. Which record it
	// objects to is not certain, so send the prescription alone; its
	// dispensings then go one by one, each with its own verdict.
	w.release(ctx, sent, "sent on its own after the transaction was refused: "+err.Error())
	tr, err = call(ctx, w, func(ctx context.Context) (centre.TransactionReceipt, error) {
		return w.centre.RecordPrescription(ctx, p, nil, res.options()...)
	})
	if err != nil {
		w.failed(ctx, []journal.OutboxEntry{e}, err, "", "")
		return
	}
	w.complete(ctx, []journal.OutboxEntry{e}, []string{tr.Prescription.ID})
}

// storedButUnusable reports whether err is about a 2xx answer that could
// not be used: the Prescription Centre stored the transaction, so it was
// not refused, and sending its records again one by one would rely on the
// server having kept them as sent (issue 18). They go to review together.
func storedButUnusable(err error) bool {
	ce, ok := centreError(err)
	return ok && ce.Status >= 200 && ce.Status < 300
}

// duplicate looks for an e-prescription that the paper or telephone
// prescription p may duplicate: the same patient and prescriber, the same
// ATC code or the same substitution group (a generic: another product that
// Fimea names interchangeable), issued within the duplicate window, and not
// cancelled. Only prescriptions issued electronically count (issue 4:
// "search the patient's e-prescriptions"); other paper or telephone
// prescriptions pharmacies recorded are separate prescriptions of their
// own. It returns nil when there is none, or when p itself is already in
// the Prescription Centre (an earlier attempt landed).
func (w *Worker) duplicate(ctx context.Context, p rx.Prescription) (*rx.Prescription, error) {
	list, err := call(ctx, w, func(ctx context.Context) ([]rx.Prescription, error) {
		return w.centre.Prescriptions(ctx, p.Patient)
	})
	if err != nil {
		if errors.Is(err, centre.ErrNotFound) {
			return nil, nil // no such patient: the create says so
		}
		return nil, err
	}
	for _, q := range list {
		if q.RecordID == p.RecordID {
			return nil, nil
		}
	}
	group, looked := "", false // p's substitution group, looked up once
	for _, q := range list {
		if q.Form != rx.FormElectronic || q.Status == rx.StatusCancelled ||
			normReg(q.Prescriber.Registration) != normReg(p.Prescriber.Registration) {
			continue
		}
		gap := q.Issued.Sub(p.Issued)
		if gap < 0 {
			gap = -gap
		}
		if gap > w.cfg.DuplicateWindow {
			continue
		}
		if q.Medicine.ATC != "" && q.Medicine.ATC == p.Medicine.ATC {
			return &q, nil
		}
		if !looked {
			group, looked = w.substitutionGroup(ctx, p.Medicine), true
		}
		if group != "" && w.substitutionGroup(ctx, q.Medicine) == group {
			if q.Medicine.SubstitutionGroup == "" {
				q.Medicine.SubstitutionGroup = group // for the conflict's detail
			}
			return &q, nil
		}
	}
	return nil, nil
}

// substitutionGroup is m's substitution group: its own, as a record stores
// the medicine, else the local catalogue's for its package. A lookup that
// fails counts as no group: the check then rests on the ATC code, as
// before there was a catalogue, and the upload is not held up.
func (w *Worker) substitutionGroup(ctx context.Context, m rx.Medicine) string {
	if g := strings.TrimSpace(m.SubstitutionGroup); g != "" {
		return g
	}
	if w.cfg.SubstitutionGroup == nil {
		return ""
	}
	for _, pk := range m.Packages {
		if strings.TrimSpace(pk.VNR) == "" {
			continue
		}
		g, err := w.cfg.SubstitutionGroup(ctx, pk.VNR)
		if err != nil {
			w.log.Debug("substitution group not looked up", logKeyVNR, pk.VNR, logKeyError, err)
			return ""
		}
		return strings.TrimSpace(g)
	}
	return ""
}

func normReg(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

func duplicateDetail(p, q rx.Prescription) string {
	if q.Medicine.ATC == "" || q.Medicine.ATC != p.Medicine.ATC {
		// A generic: another product of the same substitution group.
		return fmt.Sprintf("%s (%s, %s, %s, substitution group %s, prescriber %s, issued %s, %s; this %s prescription of %s, the same substitution group, issued %s)",
			q.ID, q.Form, q.Status, q.Medicine.Name, q.Medicine.SubstitutionGroup, q.Prescriber.Name, q.Issued.Format(time.DateOnly), remainingText(q),
			p.Form, p.Medicine.Name, p.Issued.Format(time.DateOnly))
	}
	return fmt.Sprintf("%s (%s, %s, ATC %s, prescriber %s, issued %s, %s; this %s prescription issued %s)",
		q.ID, q.Form, q.Status, q.Medicine.ATC, q.Prescriber.Name, q.Issued.Format(time.DateOnly), remainingText(q),
		p.Form, p.Issued.Format(time.DateOnly))
}

func remainingText(q rx.Prescription) string {
	return fmt.Sprintf("%d of %d %s remaining", q.Remaining(), q.Total(), q.Medicine.Unit)
}

// sendVoid carries a void upstream: the record it voids is marked entered
// in error there. A target still on its way is waited for; a target that
// never landed needs nothing upstream.
func (w *Worker) sendVoid(ctx context.Context, e journal.OutboxEntry, rec journal.Record) {
	var body record.VoidBody
	_ = json.Unmarshal(rec.Body, &body) // the reason is optional upstream
	target, err := w.store.Outbox(ctx, rec.RefersTo)
	if err != nil {
		if rx.ErrorCode(err) == rx.ENOTFOUND {
			w.complete(ctx, []journal.OutboxEntry{e}, []string{""}) // never to be uploaded
			return
		}
		w.localFailure(ctx, e, fmt.Errorf("read the voided record's upload: %w", err))
		return
	}
	switch target.State {
	case journal.OutboxPending, journal.OutboxRetry, journal.OutboxSending:
		w.retryAt(ctx, e, w.cfg.Now().Add(voidWait), "waits for the voided record "+target.RecordID+" to reach the Prescription Centre")
		return
	case journal.OutboxDone:
	default:
		// Conflict, rejected, parked or voided: refused or never sent,
		// unless an attempt landed before its answer was lost.
		if target.Attempts == 0 {
			w.complete(ctx, []journal.OutboxEntry{e}, []string{""})
			return
		}
	}
	void := w.centre.VoidDispensing
	if target.Kind != journal.KindDispensing {
		void = w.centre.VoidPrescription
	}
	rc, err := call(ctx, w, func(ctx context.Context) (centre.Receipt, error) {
		return void(ctx, target.RecordID, body.Reason)
	})
	if err != nil && errors.Is(err, centre.ErrNotFound) && target.State != journal.OutboxDone {
		w.complete(ctx, []journal.OutboxEntry{e}, []string{""}) // it never landed
		return
	}
	switch {
	case err != nil && centre.ReasonOf(err) == "has-dispensings":
		// A prescription is voided upstream only after its dispensings:
		// a pharmacist voids those, then resubmits this void.
		if ce, ok := centreError(err); ok {
			w.reject(ctx, e, Conflict{Rejected, outcomeDetail(ce)})
			return
		}
	case err != nil && centre.ClassOf(err) == centre.Conflict:
		// The record changed between the void's read and its write
		// (412): read again, later.
		w.backoff(ctx, []journal.OutboxEntry{e}, err)
		return
	}
	if err != nil {
		w.failed(ctx, []journal.OutboxEntry{e}, err, "", "")
		return
	}
	w.complete(ctx, []journal.OutboxEntry{e}, []string{rc.ID})
}

// complete records that the Prescription Centre has the entries, in one
// journal transaction. Inside Run and Drain the completion is handed to the
// committer and complete returns at once: the upload's slot goes to the
// next record while the journal writes, and completions of records uploaded
// meanwhile share its transaction (group commit, see committer). The
// outcome is counted once the transaction is durable. Until then the
// entries stay leased to this Worker: should the process die first, the
// lease runs out and the record is sent again, which the conditional create
// makes safe, as when it dies between the answer and the write.
func (w *Worker) complete(ctx context.Context, es []journal.OutboxEntry, upstream []string) {
	cs := make([]journal.Completion, len(es))
	for i, e := range es {
		cs[i] = journal.Completion{ID: e.RecordID, UpstreamID: upstream[i]}
	}
	settled := func(err error) {
		if err != nil {
			return
		}
		w.clearFloor(es...)
		for i, e := range es {
			w.count(Outcome{RecordID: e.RecordID, Kind: e.Kind, State: journal.OutboxDone, UpstreamID: upstream[i]})
		}
	}
	if commits := w.commitQueue(); commits != nil {
		w.unsettled.Add(1)
		commits <- commit{cs: cs, then: settled}
		return
	}
	settled(w.completeNow(ctx, cs))
}

func (w *Worker) completeNow(ctx context.Context, cs []journal.Completion) error {
	return w.settle(ctx, "complete", func(ctx context.Context) error {
		if len(cs) == 1 {
			return w.store.Complete(ctx, cs[0].ID, w.cfg.Owner, cs[0].UpstreamID)
		}
		return w.store.CompleteAll(ctx, w.cfg.Owner, cs)
	})
}

// commit is one group of completions for the committer: the entries of one
// upload, all or none, and what to do once they are written. A commit
// with flush set instead is a barrier (flushCommits).
type commit struct {
	cs    []journal.Completion
	then  func(error)
	flush chan struct{} // closed once every commit sent before it is written
}

// maxGroup bounds the completions committed in one transaction.
const maxGroup = 64

// commitWindow is how long the committer gathers completions after the
// first one before it writes them. No upload waits for it (complete
// returns at once), and Run and Drain end a window at once when nothing is
// left in flight (flushCommits), so it costs a record only a few
// milliseconds more in sending; each transaction saved is an fsync and
// about half a millisecond of CPU that the uploads and the Prescription
// Centre share (tiskibench's drain: about 950 transactions for 10,000
// records at 5 ms, 2,600 without a window).
const commitWindow = 10 * time.Millisecond

// committer commits the completions sent on commits in groups: one journal
// transaction (and one fsync) for the uploads that finished within
// commitWindow of the first, or while the previous group was being
// written. A group refused as a whole (a lease lost to another sender) is
// retried upload by upload, so one lost lease costs no other record its
// completion. A barrier (flushCommits) ends a group at once. It returns
// when commits is closed, after writing every completion sent before.
func (w *Worker) committer(commits <-chan commit) {
	var group []commit
	for c := range commits {
		group = append(group[:0], c)
		n := len(c.cs)
		window := time.NewTimer(commitWindow)
	more:
		for n < maxGroup && c.flush == nil {
			select {
			case next, open := <-commits:
				if !open {
					break more
				}
				c = next
				group = append(group, c)
				n += len(c.cs)
			case <-window.C:
				break more
			}
		}
		window.Stop()
		w.commitGroup(group, n)
		clear(group) // let the settled callbacks go
	}
}

// commitGroup writes a group of commits holding n completions, tells each
// its result, and then releases the barriers among them.
func (w *Worker) commitGroup(group []commit, n int) {
	var uploads []commit
	for _, c := range group {
		if c.flush == nil {
			uploads = append(uploads, c)
		}
	}
	switch len(uploads) {
	case 0:
	case 1:
		w.settled(uploads[0], w.completeNow(context.Background(), uploads[0].cs))
	default:
		all := make([]journal.Completion, 0, n)
		for _, c := range uploads {
			all = append(all, c.cs...)
		}
		if err := w.completeNow(context.Background(), all); err == nil {
			for _, c := range uploads {
				w.settled(c, nil)
			}
		} else {
			for _, c := range uploads {
				w.settled(c, w.completeNow(context.Background(), c.cs))
			}
		}
	}
	for _, c := range group {
		if c.flush != nil {
			close(c.flush)
		}
	}
}

// settled tells an upload its commit's result.
func (w *Worker) settled(c commit, err error) {
	c.then(err)
	w.unsettled.Add(-1)
}

// flushCommits waits until the committer has written every completion
// handed to it, and reports whether there were any: Run and Drain call it
// when nothing is in flight, before they look for more to send (a
// completion may free records that waited for it) or decide they are done.
// Only the loop calls it, when no upload can hand over another completion.
func (w *Worker) flushCommits() bool {
	commits := w.commitQueue()
	if commits == nil || w.unsettled.Load() == 0 {
		return false
	}
	f := make(chan struct{})
	commits <- commit{flush: f}
	<-f
	return true
}

func (w *Worker) commitQueue() chan commit {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.commits
}

// failed settles entries after a failed call: a transient failure is
// retried after a backoff, a conflict or a refusal goes to review.
// prescriptionID is the e-prescription the record was sent against, re-read
// to explain a conflict, and patient the identity code of the record's
// patient, whom the re-read must be about (issue 22, criterion (d)).
func (w *Worker) failed(ctx context.Context, es []journal.OutboxEntry, err error, prescriptionID, patient string) {
	if ctx.Err() != nil {
		// Stopped: hand the records back at once for the next sender.
		w.release(ctx, es, "interrupted")
		return
	}
	if centre.Misconfigured(err) {
		// Refused here, for this counter's configuration: never sent, and
		// sent again after the fix, with no pharmacist's review.
		for _, e := range es {
			w.reject(ctx, e, Conflict{Configuration, err.Error()})
		}
		return
	}
	ce, isCentre := centreError(err)
	if !isCentre || ce.Class == centre.Transient {
		if isCentre {
			w.fail("upload", err)
		}
		w.backoff(ctx, es, err)
		return
	}
	c := w.judge(ctx, ce, prescriptionID, patient)
	if c.Kind == "" {
		// The re-read found the cause gone (a lock released): try again.
		w.backoff(ctx, es, err)
		return
	}
	for _, e := range es {
		if c.Kind == Rejected {
			w.reject(ctx, e, c)
		} else {
			w.conflict(ctx, e, c)
		}
	}
}

// judge turns a refusal into a conflict for review, re-reading the
// prescription where that tells the pharmacist more (DESIGN §6: 409 and 412
// re-read, then conflict). An empty Kind means the re-read shows the cause
// gone. The re-read must be about patient, the record's patient.
func (w *Worker) judge(ctx context.Context, ce *centre.Error, prescriptionID, patient string) Conflict {
	detail := outcomeDetail(ce)
	reread := func() (rx.Prescription, bool) {
		if prescriptionID == "" {
			return rx.Prescription{}, false
		}
		p, err := call(ctx, w, func(ctx context.Context) (rx.Prescription, error) {
			return w.centre.Prescription(ctx, prescriptionID, patient)
		})
		if errors.Is(err, centre.ErrWrongPatient) {
			// Issue 22, criterion (d): the re-read answered about another
			// patient. Nothing of it is used: it can neither show the
			// cause gone (a lock released would send the record again on
			// the word of an answer about someone else) nor tell the
			// pharmacist the prescription's state. The refusal itself is
			// the Prescription Centre's answer to this record and stands,
			// so the record is held for a pharmacist's review, with this
			// note, rather than retried: a retry would go on sending it
			// to a service that mixes up patients, and would keep the
			// conflict from a person until the fault ends. Patient safety
			// first; the pharmacist can resubmit once the fault is over.
			detail += " (re-reading " + prescriptionID + ": the Prescription Centre answered about another patient; nothing of that answer is used. " +
				"This may put patient privacy at risk: tell your helpdesk)"
			return rx.Prescription{}, false
		}
		if err != nil {
			detail += " (re-reading " + prescriptionID + " failed: " + err.Error() + ")"
			return rx.Prescription{}, false
		}
		return p, true
	}
	switch {
	case ce.Class == centre.Conflict:
		p, ok := reread()
		if ok {
			if p.LockedBy == "" && ce.Reason == "locked" {
				return Conflict{}
			}
			detail += " (now " + prescriptionState(p) + ")"
		}
		return Conflict{Locked, detail}
	case ce.Status == http.StatusUnprocessableEntity:
		switch ce.Reason {
		case "completed":
			if p, ok := reread(); ok {
				detail += " (now " + prescriptionState(p) + ")"
			}
			return Conflict{DispensedElsewhere, detail}
		case string(OverDispensed), string(Cancelled), string(Expired), string(UnknownPatient):
			return Conflict{ConflictKind(ce.Reason), detail}
		}
	}
	return Conflict{Rejected, detail}
}

// outcomeDetail is the OperationOutcome's texts as they came: Finnish, then
// English, then the reason code.
func outcomeDetail(ce *centre.Error) string {
	var parts []string
	if ce.Text != "" {
		parts = append(parts, ce.Text)
	}
	if ce.Diagnostics != "" && ce.Diagnostics != ce.Text {
		parts = append(parts, ce.Diagnostics)
	}
	s := strings.Join(parts, " / ")
	if s == "" {
		s = ce.Error()
	}
	if ce.Reason != "" {
		s += " [" + ce.Reason + "]"
	}
	return s
}

func prescriptionState(p rx.Prescription) string {
	s := fmt.Sprintf("%s %s, %s", p.ID, p.Status, remainingText(p))
	if p.LockedBy != "" {
		s += ", locked by " + p.LockedBy
	}
	return s
}

// backoff schedules entries again after a transient failure: exponential
// backoff with full jitter on the stored attempt count (since the record's
// last Wake), after a Retry-After the server gave.
func (w *Worker) backoff(ctx context.Context, es []journal.OutboxEntry, err error) {
	now := w.cfg.Now()
	attempts := 1
	for _, e := range es {
		attempts = max(attempts, e.Attempts-w.wokenAt(e.RecordID))
	}
	wait := w.jitter(w.cfg.backoffCap(attempts))
	var floor time.Time
	if ce, ok := centreError(err); ok && ce.RetryAfter > 0 {
		floor = now.Add(ce.RetryAfter)
		switch {
		case w.cfg.NoJitter:
			wait = max(wait, ce.RetryAfter)
		case ce.Status == http.StatusTooManyRequests:
			// Throttled: the record is not at fault, the rate is. The
			// token bucket was cut and holds the whole client (pace), so
			// the record goes again after the floor, with a jitter of up
			// to as much again, and waits its turn in the bucket; a
			// backoff of its own would leave the server idle later.
			wait = ce.RetryAfter + jitter(max(ce.RetryAfter, time.Second))
		default:
			// The jitter goes on top of the floor: every client told the
			// same Retry-After would otherwise all come back at the same
			// moment.
			wait += ce.RetryAfter
		}
	}
	next := now.Add(wait)
	if !floor.IsZero() {
		w.setFloor(floor, es...)
	}
	w.retryAll(ctx, es, next, err.Error())
}

// release hands leased entries back, due now.
func (w *Worker) release(ctx context.Context, es []journal.OutboxEntry, why string) {
	if len(es) == 0 {
		return
	}
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.RecordID
	}
	now := w.cfg.Now()
	err := w.settle(ctx, "release", func(ctx context.Context) error {
		if len(ids) == 1 {
			return w.store.Retry(ctx, ids[0], w.cfg.Owner, now, why)
		}
		return w.store.RetryAll(ctx, w.cfg.Owner, ids, now, why)
	})
	if err == nil {
		w.Kick()
	}
}

func (w *Worker) retryAt(ctx context.Context, e journal.OutboxEntry, next time.Time, why string) {
	w.retryAll(ctx, []journal.OutboxEntry{e}, next, why)
}

func (w *Worker) retryAll(ctx context.Context, es []journal.OutboxEntry, next time.Time, why string) {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.RecordID
	}
	err := w.settle(ctx, "retry", func(ctx context.Context) error {
		if len(ids) == 1 {
			return w.store.Retry(ctx, ids[0], w.cfg.Owner, next, why)
		}
		return w.store.RetryAll(ctx, w.cfg.Owner, ids, next, why)
	})
	if err != nil {
		return
	}
	for _, e := range es {
		w.count(Outcome{RecordID: e.RecordID, Kind: e.Kind, State: journal.OutboxRetry, Detail: why, Next: next})
	}
}

// localFailure retries an entry that failed here, not upstream (the journal
// could not be read): soon, with the same backoff.
func (w *Worker) localFailure(ctx context.Context, e journal.OutboxEntry, err error) {
	if ctx.Err() != nil {
		w.release(ctx, []journal.OutboxEntry{e}, "interrupted")
		return
	}
	w.fail("journal", err)
	w.backoff(ctx, []journal.OutboxEntry{e}, err)
}

func (w *Worker) conflict(ctx context.Context, e journal.OutboxEntry, c Conflict) {
	err := w.settle(ctx, "conflict", func(ctx context.Context) error {
		return w.store.Conflict(ctx, e.RecordID, w.cfg.Owner, c.String())
	})
	if err != nil {
		return
	}
	w.clearFloor(e)
	w.log.LogAttrs(context.Background(), slog.LevelWarn, "record in conflict",
		slog.String(logKeyRecord, e.RecordID), slog.String(logKeyKind, string(e.Kind)), slog.String(logKeyConflict, c.String()))
	w.count(Outcome{RecordID: e.RecordID, Kind: e.Kind, State: journal.OutboxConflict, Detail: c.String()})
}

func (w *Worker) reject(ctx context.Context, e journal.OutboxEntry, c Conflict) {
	if c.Kind != Configuration {
		c.Kind = Rejected
	}
	err := w.settle(ctx, "reject", func(ctx context.Context) error {
		return w.store.Reject(ctx, e.RecordID, w.cfg.Owner, c.String())
	})
	if err != nil {
		return
	}
	w.clearFloor(e)
	w.log.LogAttrs(context.Background(), slog.LevelWarn, "record rejected",
		slog.String(logKeyRecord, e.RecordID), slog.String(logKeyKind, string(e.Kind)), slog.String(logKeyConflict, c.String()))
	w.count(Outcome{RecordID: e.RecordID, Kind: e.Kind, State: journal.OutboxRejected, Detail: c.String()})
}

// settle runs a journal write that settles an upload. It survives the
// Worker being stopped (a context of its own), and waits out a journal
// busy in another process with backoff. A lease lost to another sender
// (rx.ECONFLICT) is given up: that sender settles the record.
func (w *Worker) settle(ctx context.Context, what string, write func(context.Context) error) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	b := backoff.NewExponentialBackOff(backoff.WithInitialInterval(20*time.Millisecond), backoff.WithMaxInterval(time.Second),
		backoff.WithMaxElapsedTime(0))
	err := backoff.Retry(func() error {
		err := write(sctx)
		if err != nil && rx.ErrorCode(err) != rx.EUNAVAILABLE {
			return backoff.Permanent(err)
		}
		return err
	}, backoff.WithContext(b, sctx))
	if err != nil {
		if rx.ErrorCode(err) == rx.ECONFLICT {
			w.log.LogAttrs(context.Background(), slog.LevelInfo, "lease lost", slog.String(logKeyWhat, what), slog.String(logKeyError, err.Error()))
		} else {
			w.fail("settle", fmt.Errorf("%s: %w", what, err))
		}
		return err
	}
	w.ok("settle")
	return nil
}

func (w *Worker) floor(id string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.floors[id]
}

func (w *Worker) setFloor(t time.Time, es ...journal.OutboxEntry) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range es {
		w.floors[e.RecordID] = t
	}
}

// clearFloor forgets a settled record's floor and its Wake.
func (w *Worker) clearFloor(es ...journal.OutboxEntry) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range es {
		delete(w.floors, e.RecordID)
		delete(w.woken, e.RecordID)
	}
}

// wokenAt is the record's attempts at its last Wake: its backoff counts
// the attempts after it.
func (w *Worker) wokenAt(id string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.woken[id]
}
