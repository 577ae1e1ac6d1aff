package journal

import (
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Kela's notices (issue 22): bad input writes nothing; a notice and its end
// are records never uploaded; a notice typed in at one counter and ended at
// another reaches a third in either order, as the hub may deliver them.
func TestNoticesKeptAndShared(t *testing.T) {
	ctx := t.Context()
	a, b, c := openCounter(t, "kassa-1"), openCounter(t, "kassa-2"), openCounter(t, "kassa-3")
	from := time.Date(2026, 12, 8, 22, 0, 0, 0, time.UTC)
	for _, bad := range []NewNotice{
		{Kind: "outage", From: from, To: from.Add(time.Hour), Text: "x", By: "it"},
		{Kind: rx.NoticeMaintenance, From: from, Text: "x", By: "it"},
		{Kind: rx.NoticeMaintenance, From: from, To: from, Text: "x", By: "it"},
		{Kind: rx.NoticeFault, From: from, Text: " ", By: "it"},
		{Kind: rx.NoticeFault, Text: "x", By: "it"},
		{Kind: rx.NoticeFault, From: from, Text: "x"},
	} {
		if _, err := a.AddNotice(ctx, bad); rx.ErrorCode(err) != rx.EINVALID {
			t.Errorf("AddNotice(%+v): %v, want invalid", bad, err)
		}
	}
	if recs, _ := a.List(ctx, Filter{}); len(recs) != 0 {
		t.Fatalf("bad notices wrote %d records", len(recs))
	}
	n, err := a.AddNotice(ctx, NewNotice{Kind: rx.NoticeMaintenance, From: from, To: from.Add(4 * time.Hour), Text: " Kanta maintenance ", Ref: "K-1", By: "it"})
	if err != nil {
		t.Fatal(err)
	}
	if n.Text != "Kanta maintenance" || n.Counter != "kassa-1" || n.AddedBy != "it" || !n.From.Equal(from) {
		t.Fatalf("notice %+v", n)
	}
	if counts, err := a.Counts(ctx); err != nil || counts.Unsent() != 0 {
		t.Fatalf("a notice is queued for upload: %+v, %v", counts, err)
	}
	// b gets it, ends it; c gets b's end before a's notice, as the hub
	// keeps each counter's order but not the order across counters.
	fromA, err := a.ShareTail(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	passOn(t, a, b)
	if _, err := b.EndNotice(ctx, ShortID(n.ID), "it-2"); err != nil {
		t.Fatal(err)
	}
	passOn(t, b, c)
	for _, sr := range fromA {
		if _, err := c.AddPeer(ctx, sr); err != nil {
			t.Fatal(err)
		}
	}
	for name, j := range map[string]*Journal{"kassa-2": b, "kassa-3": c} {
		ns, err := j.Notices(ctx)
		if err != nil || len(ns) != 1 || ns[0].ID != n.ID || ns[0].EndedAt.IsZero() || ns[0].EndedBy != "it-2" || ns[0].Ref != "K-1" {
			t.Errorf("%s's notices: %+v, %v", name, ns, err)
		}
	}
	if _, ok, err := c.PlannedBreak(ctx, from.Add(time.Hour)); err != nil || ok {
		t.Errorf("an ended break is in force at kassa-3: %v, %v", ok, err)
	}
	if got, ok, err := a.PlannedBreak(ctx, from.Add(time.Hour)); err != nil || !ok || got.ID != n.ID {
		t.Errorf("the break at kassa-1 (its end not received): %+v, %v, %v", got, ok, err)
	}
	if _, ok, _ := a.PlannedBreak(ctx, from.Add(4*time.Hour)); ok {
		t.Error("the break is in force at its end")
	}
	if _, err := c.EndNotice(ctx, n.ID, "it"); rx.ErrorCode(err) != rx.ECONFLICT {
		t.Errorf("ending an ended notice: %v, want a conflict", err)
	}
}
