package queue

import (
	"context"
	"net/http"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/record"
)

// AlreadyRequested is the Detail of a renewal request's Outcome, done
// without a Task of its own, because the Prescription Centre already holds
// an open request for the prescription (issue 23). It needs no review: the
// patient's renewal has been asked for.
const AlreadyRequested = "already requested"

// sendRenewal sends a renewal request (issue 23). The conditional create on
// its record id makes a retry, or a send after a kill once the server had
// committed, find the Task already made. A refusal by the Prescription
// Centre's rules (the prescription cancelled meanwhile) is a conflict for a
// pharmacist; an answer that a request is already open settles it, without
// a review.
func (w *Worker) sendRenewal(ctx context.Context, e journal.OutboxEntry, rec journal.Record) {
	r, err := record.DecodeRenewal(rec)
	if err != nil {
		w.reject(ctx, e, Conflict{Rejected, err.Error()})
		return
	}
	rc, err := call(ctx, w, func(ctx context.Context) (centre.Receipt, error) {
		return w.centre.RecordRenewal(ctx, r)
	})
	if err == nil {
		w.complete(ctx, []journal.OutboxEntry{e}, []string{rc.ID})
		return
	}
	ce, ok := centreError(err)
	switch {
	case ctx.Err() != nil, !ok:
	case ce.Reason == centre.ReasonAlreadyRequested:
		w.completeWith(ctx, e, "", AlreadyRequested+": "+outcomeDetail(ce))
		return
	case ce.Status == http.StatusUnprocessableEntity:
		w.conflict(ctx, e, Conflict{RenewalRefused, outcomeDetail(ce)})
		return
	}
	w.failed(ctx, []journal.OutboxEntry{e}, err, "", "")
}

// completeWith completes one entry now, and counts its outcome with a
// detail for the person watching.
func (w *Worker) completeWith(ctx context.Context, e journal.OutboxEntry, upstream, detail string) {
	if err := w.completeNow(ctx, []journal.Completion{{ID: e.RecordID, UpstreamID: upstream}}); err != nil {
		return
	}
	w.clearFloor(e)
	w.count(Outcome{RecordID: e.RecordID, Kind: e.Kind, State: journal.OutboxDone, UpstreamID: upstream, Detail: detail})
}
