package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/pkg/config"
	"github.com/tiski-rx/tiski/pkg/hub"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// NewCmdRecord builds `tiski record`.
func NewCmdRecord(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "record",
		Short: "Back-enter paper forms into the journal from JSON",
		Long: `Back-enter records that were written on paper while even the counter was down:
paper and telephone prescriptions, dispensings, voids and renewal requests
(a patient's request that the prescriber renew an e-prescription). The JSON format is
described in README.md, with examples in testdata/records/. Package numbers
(vnr) are looked up in the data folder's medicine catalogue (tiski catalogue
sync or tiski catalogue import), and each record keeps the medicine as the
catalogue stated it then.

The command prints the new record's id. Exit code 0 means the record is
durably in the journal and queued for upload; any other code means nothing
was recorded. Giving an "id" makes re-running the same file safe: a record
with that id already in the journal is reported, not recorded twice.

Sign in with --user ID; the PIN comes from TISKI_PIN, or from standard input
when the record itself does not.`,
	}
	for _, kind := range []string{"paper", "telephone", "dispensing", "void", "renewal"} {
		cmd.AddCommand(NewCmdRecordKind(f, kind, nil))
	}
	return cmd
}

// RecordOptions are the options of `tiski record KIND`.
type RecordOptions struct {
	Factory *Factory
	Kind    string
	From    string
	User    string
	JSON    bool
}

// NewCmdRecordKind builds `tiski record paper|telephone|dispensing|void|renewal`.
func NewCmdRecordKind(f *Factory, kind string, runF func(context.Context, *RecordOptions) error) *cobra.Command {
	opts := &RecordOptions{Factory: f, Kind: kind}
	short := map[string]string{
		"paper":      "Record a paper prescription, optionally with its dispensing",
		"telephone":  "Record a telephone prescription, optionally with its dispensing",
		"dispensing": "Record a dispensing (against an e-prescription or a journal prescription, or essential medication)",
		"void":       "Void an earlier record entered in error",
		"renewal":    "Request a renewal of an e-prescription for the patient, with the patient's optional message",
	}[kind]
	cmd := &cobra.Command{
		Use:     kind + " --from FILE|- --user ID",
		Short:   short,
		Example: fmt.Sprintf("  TISKI_PIN=4711 tiski record %s --from testdata/records/%s.json --user aino", kind, kind),
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.From == "" {
				return usageError{fmt.Errorf("--from FILE is required (- reads standard input)")}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return recordRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.From, "from", "", "the JSON file to record, or - for standard input")
	cmd.Flags().StringVar(&opts.User, "user", "", "the pharmacist making the record")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	return cmd
}

// Input shapes of `tiski record`, documented in README.md.
type (
	prescriberInput struct {
		Name         string        `json:"name"`
		Registration string        `json:"registration"`
		Profession   rx.Profession `json:"profession"`
		Phone        string        `json:"phone"`
		Workplace    string        `json:"workplace"`
	}
	callInput struct {
		Phone        string    `json:"phone"`
		Time         time.Time `json:"time"`
		Verification string    `json:"verification"`
	}
	dispensingInput struct {
		ID                 string           `json:"id"`
		Patient            string           `json:"patient"`
		PrescriptionID     string           `json:"prescription_id"`
		PrescriptionRecord string           `json:"prescription_record"`
		VNR                string           `json:"vnr"`
		Quantity           int              `json:"quantity"`
		Time               time.Time        `json:"time"`
		Essential          bool             `json:"essential"`
		Basis              rx.BasisDocument `json:"basis"`
		UnitsPerDay        float64          `json:"units_per_day"`
		FaultReference     string           `json:"fault_reference"`
		Note               string           `json:"note"`
	}
	prescriptionInput struct {
		ID         string           `json:"id"`
		Patient    string           `json:"patient"`
		Prescriber prescriberInput  `json:"prescriber"`
		VNR        string           `json:"vnr"`
		Issued     string           `json:"issued"` // YYYY-MM-DD
		Dosage     string           `json:"dosage"`
		Quantity   int              `json:"quantity"`
		Repeats    int              `json:"repeats"`
		Reason     string           `json:"reason"`
		Call       *callInput       `json:"call"`
		Dispensing *dispensingInput `json:"dispensing"`
	}
	voidInput struct {
		ID     string `json:"id"`
		Record string `json:"record"`
		Reason string `json:"reason"`
	}
	renewalInput struct {
		ID             string    `json:"id"`
		Patient        string    `json:"patient"`
		PrescriptionID string    `json:"prescription_id"`
		Message        string    `json:"message"`
		Time           time.Time `json:"time"` // when the patient asked; zero: now
	}
)

type recordResult struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	Seq      int64    `json:"seq"`
	Already  bool     `json:"already_recorded,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// warned are the warnings' decisions, said in the user's language
	// in the human output (the JSON keeps pkg/policy's English).
	warned []policy.Decision
}

func readInput(opts *RecordOptions) ([]byte, error) {
	var r io.Reader
	if opts.From == "-" {
		r = opts.Factory.IO.In
	} else {
		file, err := os.Open(opts.From)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", opts.From, err)
		}
		defer file.Close()
		r = file
	}
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", opts.From, err)
	}
	return b, nil
}

func decodeStrict(b []byte, v any, from string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return rx.Errorf(rx.EINVALID, "%s is not a valid record: %v. See testdata/records/ for examples.", from, err)
	}
	return nil
}

func recordRun(ctx context.Context, opts *RecordOptions) error {
	f := opts.Factory
	input, err := readInput(opts)
	if err != nil {
		return err
	}
	c, err := f.Config()
	if err != nil {
		return err
	}
	if opts.Kind != "void" {
		// Before the journal is opened: a record that could never be sent
		// is not made (a void names no pharmacy and clears such records).
		if err := c.Pharmacy.Check(); err != nil {
			return identityRefusal(c, err)
		}
	}
	pol, err := f.Policy()
	if err != nil {
		return err
	}
	var meds *medicines
	if opts.Kind == "paper" || opts.Kind == "telephone" || opts.Kind == "dispensing" {
		// Before the journal is opened: without a catalogue no package can
		// be looked up, and nothing is recorded or signed in.
		if meds, err = openMedicines(ctx, f); err != nil {
			return err
		}
	}
	j, err := f.Journal(ctx)
	if err != nil {
		return err
	}
	// What the other counters recorded counts in this record's checks (the
	// quantity left, duplicates), and what this one records goes to them at
	// once.
	f.hubCatchUp(ctx, j)
	if opts.From == "-" && f.Getenv("TISKI_PIN") == "" {
		return usageError{fmt.Errorf("with --from - the record is on standard input, so give the PIN in TISKI_PIN")}
	}
	who, err := signInFlag(ctx, f, j, opts.User)
	if err != nil {
		return err
	}
	if !who.Role.MayRecord() {
		return rx.Errorf(rx.EFORBIDDEN, "%s is a %s and may look but not record. A pharmacist must make this record.", who.Name, who.Role)
	}
	svc := &record.Service{Journal: j, Policy: pol, Pharmacy: c.Pharmacy}
	if _, ok, _ := f.HubOptions(); ok {
		// A dispensing against a journal prescription claims its quantity
		// at the hub the catch-up connected to; without that connection
		// it is recorded as not checked across counters, with a warning.
		svc.Claimer = hub.Claims{Client: func() *hub.Client { return f.hub }}
	}
	var results []recordResult
	defer func() {
		if len(results) > 0 {
			f.hubShare(ctx, j)
		}
	}()
	// already reports a record with this id that is in the journal.
	already := func(id string) (bool, error) {
		if id == "" {
			return false, nil
		}
		rec, err := j.Get(ctx, id)
		if rx.ErrorCode(err) == rx.ENOTFOUND {
			return false, nil
		} else if err != nil {
			return false, err
		}
		results = append(results, recordResult{ID: rec.ID, Kind: string(rec.Kind), Seq: rec.Seq, Already: true})
		return true, nil
	}
	log := f.Logger().With(logKeyCmd, "record "+opts.Kind, logKeyUser, who.ID)
	add := func(rc record.Receipt) {
		log.Info("recorded", logKeyRecord, rc.Record.ID, logKeyKind, string(rc.Record.Kind), "seq", rc.Record.Seq, "rules", rc.Record.Rules)
		r := recordResult{ID: rc.Record.ID, Kind: string(rc.Record.Kind), Seq: rc.Record.Seq}
		for _, d := range rc.Decisions {
			if d.Verdict == policy.Warn {
				r.Warnings = append(r.Warnings, d.Message)
				r.warned = append(r.warned, d)
			}
		}
		results = append(results, r)
	}

	switch opts.Kind {
	case "paper", "telephone":
		var in prescriptionInput
		if err := decodeStrict(input, &in, opts.From); err != nil {
			return err
		}
		p, err := in.prescription(meds, opts.Kind)
		if err != nil {
			return err
		}
		var d *rx.Dispensing
		if in.Dispensing != nil {
			if in.Dispensing.Patient == "" {
				in.Dispensing.Patient = in.Patient
			}
			dd, err := in.Dispensing.dispensing(meds)
			if err != nil {
				return err
			}
			d = &dd
		}
		found, err := already(p.RecordID)
		if err != nil {
			return err
		}
		switch {
		case !found:
			// The prescription and its dispensing go in together, or not at all.
			var rc record.Receipt
			if opts.Kind == "paper" {
				rc, err = svc.Paper(ctx, who, p, d)
			} else {
				rc, err = svc.Telephone(ctx, who, p, d)
			}
			if err != nil {
				return err
			}
			add(rc)
			if rc.Dispensing != nil {
				add(record.Receipt{Record: *rc.Dispensing})
			}
		case d != nil:
			// A re-run after the prescription was recorded on its own.
			d.PrescriptionRecord = p.RecordID
			found, err := already(d.ID)
			if err != nil {
				return err
			}
			if !found {
				rc, err := svc.Dispense(ctx, who, *d, record.DispenseOptions{})
				if err != nil {
					return err
				}
				add(rc)
			}
		}
	case "dispensing":
		var in dispensingInput
		if err := decodeStrict(input, &in, opts.From); err != nil {
			return err
		}
		d, err := in.dispensing(meds)
		if err != nil {
			return err
		}
		found, err := already(d.ID)
		if err != nil {
			return err
		}
		if !found {
			rc, err := svc.Dispense(ctx, who, d, record.DispenseOptions{UnitsPerDay: in.UnitsPerDay, FaultReference: in.FaultReference})
			if err != nil {
				return err
			}
			add(rc)
		}
	case "renewal":
		var in renewalInput
		if err := decodeStrict(input, &in, opts.From); err != nil {
			return err
		}
		found, err := already(in.ID)
		if err != nil {
			return err
		}
		if !found {
			rc, err := svc.Renew(ctx, who, rx.Renewal{ID: in.ID, Patient: in.Patient, PrescriptionID: in.PrescriptionID, Message: in.Message, Time: in.Time})
			if err != nil {
				return err
			}
			add(rc)
		}
	case "void":
		var in voidInput
		if err := decodeStrict(input, &in, opts.From); err != nil {
			return err
		}
		rc, err := svc.Void(ctx, who, in.Record, in.Reason)
		if err != nil {
			return err
		}
		add(rc)
	}
	return printResults(f, results, opts.JSON)
}

// identityRefusal is the message for a refusal for want of the pharmacy's
// identity (rx.ECONFIG): what is missing, and how to set it.
func identityRefusal(c *config.Config, err error) error {
	return rx.Errorf(rx.ECONFIG, "Nothing was recorded. %s\n%s 'tiski doctor' checks it.", rx.ErrorMessage(err), c.PharmacyHelp())
}

func printResults(f *Factory, results []recordResult, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(f.IO.Out).Encode(results)
	}
	l := f.Lang()
	for _, r := range results {
		if r.Already {
			fmt.Fprintln(f.IO.Out, l.T(i18n.CLIRecordAlready, r.ID, kindText(l, r.Kind), r.Seq))
			continue
		}
		fmt.Fprintln(f.IO.Out, l.T(i18n.CLIRecordDone, r.ID, strings.ReplaceAll(kindText(l, r.Kind), "_", " "), r.Seq))
		for _, d := range r.warned {
			fmt.Fprintln(f.IO.Out, l.T(i18n.CLIRecordWarning, l.DecisionSentence(d)))
		}
	}
	return nil
}

func (in prescriptionInput) prescription(meds *medicines, kind string) (rx.Prescription, error) {
	var v rx.ValidationError
	m, _, err := meds.byVNR(in.VNR, &v)
	if err != nil {
		return rx.Prescription{}, err
	}
	p := rx.Prescription{
		RecordID: in.ID, Patient: in.Patient, Dosage: in.Dosage, Quantity: in.Quantity, Repeats: in.Repeats, Reason: in.Reason,
		Prescriber: rx.Prescriber{Name: in.Prescriber.Name, Registration: in.Prescriber.Registration,
			Profession: in.Prescriber.Profession, Phone: in.Prescriber.Phone, Workplace: in.Prescriber.Workplace},
		Medicine: m,
	}
	if in.Issued != "" {
		t, err := time.ParseInLocation(time.DateOnly, in.Issued, time.Local)
		if err != nil {
			v.Add("issued", "%q is not a date like 2026-11-21", in.Issued)
		}
		p.Issued = t
	}
	if kind == "telephone" && in.Call != nil {
		p.Telephone = &rx.TelephoneCall{Phone: in.Call.Phone, Time: in.Call.Time, Verification: in.Call.Verification}
	}
	if kind == "paper" && in.Call != nil {
		v.Add("call", "a paper prescription has no telephone call; use 'tiski record telephone'")
	}
	return p, v.Err()
}

func (in dispensingInput) dispensing(meds *medicines) (rx.Dispensing, error) {
	var v rx.ValidationError
	m, vnr, err := meds.byVNR(in.VNR, &v)
	if err != nil {
		return rx.Dispensing{}, err
	}
	d := rx.Dispensing{
		ID: in.ID, Patient: in.Patient, PrescriptionID: in.PrescriptionID, PrescriptionRecord: in.PrescriptionRecord,
		VNR: vnr, Quantity: in.Quantity, Time: in.Time, Essential: in.Essential, Basis: in.Basis, Note: in.Note,
		Medicine: m,
	}
	if in.Time.IsZero() {
		v.Add("time", "the time of the dispensing is required, e.g. 2026-11-21T10:30:00+02:00")
	}
	return d, v.Err()
}
