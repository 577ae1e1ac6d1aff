package cli

import (
	"context"

	"github.com/tiski-rx/tiski/pkg/faultreport"
	"github.com/tiski-rx/tiski/tui/i18n"
	"time"

	"github.com/tiski-rx/tiski/pkg/catalogue"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
	"github.com/tiski-rx/tiski/tui/common"
)

// startingServices are the counter's services from its first frame on,
// while the journal and what runs over it open beside it (counterOpening).
// Every call waits for the opening (ready), bounded by its context as any
// call is, then goes to the open services: the status line reads nothing
// until then, and no record, sign-in or search runs on a half-open
// counter. A call made after a failed opening gets its error.
type startingServices struct {
	op *counterOpening
}

var (
	_ common.Services = (*startingServices)(nil)
	_ common.Hubs     = (*startingServices)(nil)
)

func (s *startingServices) Counts(ctx context.Context) (journal.Counts, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return journal.Counts{}, err
	}
	return cs.Counts(ctx)
}

func (s *startingServices) Mode(ctx context.Context) (rx.ModeState, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return rx.ModeState{}, err
	}
	return cs.Mode(ctx)
}

func (s *startingServices) FindPatient(ctx context.Context, code string) (rx.Patient, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return rx.Patient{}, err
	}
	return cs.FindPatient(ctx, code)
}

func (s *startingServices) Prescriptions(ctx context.Context, code string) ([]rx.Prescription, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return nil, err
	}
	return cs.Prescriptions(ctx, code)
}

func (s *startingServices) SignIn(ctx context.Context, id, pin string) (rx.Pharmacist, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return rx.Pharmacist{}, err
	}
	return cs.SignIn(ctx, id, pin)
}

func (s *startingServices) ForceFault(ctx context.Context, reason, by string) (rx.ModeState, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return rx.ModeState{}, err
	}
	return cs.ForceFault(ctx, reason, by)
}

func (s *startingServices) Dispense(ctx context.Context, who rx.Pharmacist, d rx.Dispensing, opts record.DispenseOptions) (record.Receipt, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return record.Receipt{}, err
	}
	return cs.Dispense(ctx, who, d, opts)
}

func (s *startingServices) UploadState(ctx context.Context, id string) (journal.OutboxEntry, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return journal.OutboxEntry{}, err
	}
	return cs.UploadState(ctx, id)
}

func (s *startingServices) Paper(ctx context.Context, who rx.Pharmacist, p rx.Prescription, d *rx.Dispensing) (record.Receipt, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return record.Receipt{}, err
	}
	return cs.Paper(ctx, who, p, d)
}

func (s *startingServices) Telephone(ctx context.Context, who rx.Pharmacist, p rx.Prescription, d *rx.Dispensing) (record.Receipt, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return record.Receipt{}, err
	}
	return cs.Telephone(ctx, who, p, d)
}

func (s *startingServices) FindMedicines(ctx context.Context, query string, n int) ([]rx.Medicine, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return nil, err
	}
	return cs.FindMedicines(ctx, query, n)
}

func (s *startingServices) MedicineByVNR(ctx context.Context, vnr string) (rx.Medicine, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return rx.Medicine{}, err
	}
	return cs.MedicineByVNR(ctx, vnr)
}

func (s *startingServices) CatalogueInfo(ctx context.Context) (catalogue.Info, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return catalogue.Info{}, err
	}
	return cs.CatalogueInfo(ctx)
}

func (s *startingServices) PatientRecords(ctx context.Context, patient string, since time.Time) ([]journal.Record, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return nil, err
	}
	return cs.PatientRecords(ctx, patient, since)
}

func (s *startingServices) Record(ctx context.Context, id string) (journal.Record, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return journal.Record{}, err
	}
	return cs.Record(ctx, id)
}

func (s *startingServices) Outbox(ctx context.Context, states ...journal.OutboxState) ([]journal.OutboxEntry, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return nil, err
	}
	return cs.Outbox(ctx, states...)
}

func (s *startingServices) RetryNow(ctx context.Context, id string) error {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return err
	}
	return cs.RetryNow(ctx, id)
}

func (s *startingServices) Prescription(ctx context.Context, id, patient string) (rx.Prescription, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return rx.Prescription{}, err
	}
	return cs.Prescription(ctx, id, patient)
}

func (s *startingServices) Resolve(ctx context.Context, who rx.Pharmacist, id string, r queue.Resolution) (journal.Record, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return journal.Record{}, err
	}
	return cs.Resolve(ctx, who, id, r)
}

// Hub: see counterServices.Hub. A counter whose configuration names no hub
// answers ok false once open, as before.
func (s *startingServices) Hub(ctx context.Context) (common.HubStatus, bool, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return common.HubStatus{}, false, err
	}
	return cs.Hub(ctx)
}

// startingDrill adds a drill's current task, which needs nothing opened.
type startingDrill struct {
	*startingServices
	task func() (int, string)
}

var _ common.DrillTasks = (*startingDrill)(nil)

func (s *startingDrill) DrillTask() (int, string) { return s.task() }

// startingTraining adds the demo's outage switch. It waits for the
// opening too: the switch is an action on the counter.
type startingTraining struct {
	*startingServices
	outage func(ctx context.Context) (bool, error)
}

var _ common.Outages = (*startingTraining)(nil)

func (s *startingTraining) ToggleOutage(ctx context.Context) (bool, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return false, err
	}
	down, err := s.outage(ctx)
	if err == nil {
		cs.f.Logger().Info("training outage", "down", down)
	}
	return down, err
}

var _ common.FaultDesk = (*startingServices)(nil)

// FaultReport drafts the fault report for the fault desk, once open.
func (s *startingServices) FaultReport(ctx context.Context) (faultreport.Report, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return faultreport.Report{}, err
	}
	return cs.FaultReport(ctx)
}

// MarkReported marks the fault reported to the helpdesk, once open.
func (s *startingServices) MarkReported(ctx context.Context, who rx.Pharmacist) error {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return err
	}
	return cs.MarkReported(ctx, who)
}

var _ common.Notices = (*startingServices)(nil)

// Notices feeds the status line Kela's notices (issue 22), once open.
func (s *startingServices) Notices(ctx context.Context) ([]rx.Notice, bool, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return nil, false, err
	}
	return cs.Notices(ctx)
}

var _ common.Summaries = (*startingServices)(nil)

// WriteSummary writes the patient's prescription summary, once open.
func (s *startingServices) WriteSummary(ctx context.Context, l i18n.Lang, patient rx.Patient) (common.Printout, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return common.Printout{}, err
	}
	return cs.WriteSummary(ctx, l, patient)
}

// WriteOutageRecords writes the patient's outage records, once open.
func (s *startingServices) WriteOutageRecords(ctx context.Context, l i18n.Lang, patient rx.Patient, since time.Time) (common.Printout, error) {
	cs, err := s.op.ready(ctx)
	if err != nil {
		return common.Printout{}, err
	}
	return cs.WriteOutageRecords(ctx, l, patient, since)
}
