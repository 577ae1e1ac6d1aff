package journal

import (
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// A fault report mark (issue 22): bad input is refused field by field and
// writes nothing; a mark is a record never uploaded, listed with its
// counter, and reaches another counter through the share lane.
func TestFaultReportMarkedAndShared(t *testing.T) {
	ctx := t.Context()
	a, b := openCounter(t, "kassa-1"), openCounter(t, "kassa-2")
	for name, tt := range map[string]struct {
		r     FaultReport
		field string
	}{
		"no one to":     {FaultReport{By: "it"}, "to"},
		"unknown to":    {FaultReport{To: "kanta", By: "it"}, "to"},
		"nobody":        {FaultReport{To: "helpdesk", By: " "}, "by"},
		"code in note":  {FaultReport{To: "helpdesk", Note: "patient 131052-308T could not get her medicine", By: "it"}, "note"},
		"code in ref":   {FaultReport{To: "kela", Ref: "131052-308T", By: "it"}, "ref"},
		"note too long": {FaultReport{To: "helpdesk", Note: strings.Repeat("x", 501), By: "it"}, "note"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := a.MarkFaultReported(ctx, tt.r)
			v, ok := err.(*rx.ValidationError)
			if !ok || rx.ErrorCode(err) != rx.EINVALID || len(v.Problems) != 1 || v.Problems[0].Field != tt.field {
				t.Fatalf("MarkFaultReported(%+v): %v, want a problem with %s", tt.r, err, tt.field)
			}
			if strings.Contains(err.Error(), "131052-308T") {
				t.Errorf("the error repeats the identity code: %v", err)
			}
		})
	}
	if recs, _ := a.List(ctx, Filter{}); len(recs) != 0 {
		t.Fatalf("bad marks wrote %d records", len(recs))
	}

	before := time.Now().Add(-time.Second)
	r, err := a.MarkFaultReported(ctx, FaultReport{To: " Helpdesk ", Ref: "HD-4711", Note: " phoned, they know ", By: "tiina"})
	if err != nil {
		t.Fatal(err)
	}
	if r.To != ReportToHelpdesk || r.Ref != "HD-4711" || r.Note != "phoned, they know" || r.By != "tiina" || r.Counter != "kassa-1" ||
		r.ID == "" || r.Time.Before(before) || r.Peer {
		t.Fatalf("mark %+v", r)
	}
	if c, err := a.Counts(ctx); err != nil || c.Unsent() != 0 {
		t.Fatalf("a fault report is queued for upload: %+v, %v", c, err)
	}
	if _, err := a.MarkFaultReported(ctx, FaultReport{To: "kela", By: "it-support"}); err != nil {
		t.Fatal(err)
	}

	passOn(t, a, b)
	got, err := b.FaultReports(ctx, time.Time{})
	if err != nil || len(got) != 2 {
		t.Fatalf("kassa-2 holds %d fault reports, %v; want 2", len(got), err)
	}
	if got[0].ID != r.ID || got[0].To != ReportToHelpdesk || got[0].Ref != "HD-4711" || !got[0].Peer || got[0].Counter != "kassa-1" ||
		got[1].To != ReportToKela || got[1].By != "it-support" {
		t.Errorf("kassa-2's fault reports %+v", got)
	}
	if later, err := b.FaultReports(ctx, time.Now().Add(time.Minute)); err != nil || len(later) != 0 {
		t.Errorf("since a minute from now: %d, %v", len(later), err)
	}
	own, err := a.FaultReports(ctx, before)
	if err != nil || len(own) != 2 || own[0].Peer {
		t.Errorf("kassa-1's own: %+v, %v", own, err)
	}
}
