package centresim

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// Levers change the Prescription Centre's state behind the client's back,
// as prescribers and other pharmacies do, so that tests and drills can make
// every reconciliation conflict (README, "Levers"). Each raises the
// prescription's version.

// Errors of the levers, for errors.Is; the admin API answers them 404, 409
// and 400.
var (
	ErrUnknownPrescription = errors.New("no such prescription")
	ErrRefused             = errors.New("the prescription's state does not allow it")
	ErrInvalid             = errors.New("invalid lever request")
)

// lever runs change on prescription id in one write transaction and raises
// the prescription's version.
func (s *Server) lever(op, id string, change func(ctx context.Context, tx *sql.Tx, rq requestRow, stamp string) error) error {
	ctx := context.Background()
	err := s.store.write(ctx, func(tx *sql.Tx) error {
		rq, ok, err := getRequest(ctx, tx, id)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %s", ErrUnknownPrescription, id)
		}
		stamp := s.now().Format(lastUpdatedLayout)
		if err := change(ctx, tx, rq, stamp); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE medication_request SET version = version + 1, last_updated = ? WHERE id = ?`, stamp, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, id, err)
	}
	s.log.Info("lever", "op", op, "prescription", id)
	return nil
}

// CancelPrescription cancels prescription id, as its prescriber would.
func (s *Server) CancelPrescription(id string) error {
	return s.lever("cancel prescription", id, func(ctx context.Context, tx *sql.Tx, rq requestRow, _ string) error {
		_, err := tx.ExecContext(ctx, `UPDATE medication_request SET status = 'cancelled' WHERE id = ?`, rq.ID)
		return err
	})
}

// LockPrescription locks prescription id for the pharmacy named by: every
// other pharmacy's dispensing gets 409 locked.
func (s *Server) LockPrescription(id, by string) error {
	by = strings.TrimSpace(by)
	return s.lever("lock prescription", id, func(ctx context.Context, tx *sql.Tx, rq requestRow, _ string) error {
		if by == "" {
			return fmt.Errorf("%w: name the pharmacy holding the lock", ErrInvalid)
		}
		_, err := tx.ExecContext(ctx, `UPDATE medication_request SET locked_by = ? WHERE id = ?`, by, rq.ID)
		return err
	})
}

// UnlockPrescription removes the lock on prescription id.
func (s *Server) UnlockPrescription(id string) error {
	return s.lever("unlock prescription", id, func(ctx context.Context, tx *sql.Tx, rq requestRow, _ string) error {
		_, err := tx.ExecContext(ctx, `UPDATE medication_request SET locked_by = '' WHERE id = ?`, rq.ID)
		return err
	})
}

// DispenseElsewhere records a dispensing of quantity units of prescription
// id by another pharmacy, under the business rules of any dispensing (a
// refusal is ErrRefused, with the reason).
func (s *Server) DispenseElsewhere(id string, quantity int, pharmacy string) error {
	pharmacy = strings.TrimSpace(pharmacy)
	return s.lever("dispense elsewhere", id, func(ctx context.Context, tx *sql.Tx, rq requestRow, stamp string) error {
		if quantity < 1 || pharmacy == "" {
			return fmt.Errorf("%w: give a quantity from 1 and the pharmacy's name", ErrInvalid)
		}
		if err := dispenseRules(rq, rq.PatientID, pharmacy, quantity, "", s.now()); err != nil {
			var oe *outcomeError
			if errors.As(err, &oe) {
				return fmt.Errorf("%w: %s (%s)", ErrRefused, oe.issues[0].Diagnostics, oe.issues[0].Details.Coding[0].Code)
			}
			return err
		}
		mdID, err := nextID(ctx, tx, "medication_dispense", "md-")
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO medication_dispense (id, patient_id, request_id, medication_id, status, quantity, counted, unit, when_handed_over, pharmacy_name, version, last_updated)
			VALUES (?, ?, ?, ?, 'completed', ?, ?, ?, ?, ?, 1, ?)`,
			mdID, rq.PatientID, rq.ID, rq.MedicationID, quantity, quantity, rq.Unit, s.now().Format(time.RFC3339), pharmacy, stamp); err != nil {
			return err
		}
		// Another pharmacy's journal record id, stable across runs.
		key := uuid.NewSHA1(fixtureNamespace, []byte("elsewhere/"+mdID))
		if err := insertIdentifiers(ctx, tx, "MedicationDispense", mdID, []identRow{{System: rx.SystemRecordUUID, Value: "urn:uuid:" + key.String()}}); err != nil {
			return err
		}
		// countDispensing raises the version too; lever raises it once more,
		// which is harmless: versions only need to change.
		return countDispensing(ctx, tx, rq, quantity, stamp)
	})
}

// SetPrescriptionIssued moves prescription id's date of issue, and its
// validity with it: a date far enough back makes it expired.
func (s *Server) SetPrescriptionIssued(id string, issued time.Time) error {
	return s.lever("set prescription issued", id, func(ctx context.Context, tx *sql.Tx, rq requestRow, _ string) error {
		if issued.IsZero() {
			return fmt.Errorf("%w: the date of issue is missing", ErrInvalid)
		}
		day := dateIn(issued, time.UTC)
		end := rq.domain(day).ValidUntil(lawValidity)
		_, err := tx.ExecContext(ctx, `UPDATE medication_request SET authored_on = ?, valid_end = ? WHERE id = ?`,
			day.Format(time.DateOnly), end.Format(time.DateOnly), rq.ID)
		return err
	})
}

// CreatePrescription stores an e-prescription issued by p.Prescriber, as if
// it had come from the prescriber's system: for example the e-prescription
// a paper one duplicates. p.Medicine must name a package the simulator
// knows (the one of p.Quantity's size, else the smallest); p.Issued defaults
// to today, p.Form to electronic, p.Status to active. Without p.ID the
// server numbers it EP9nnnnnnn.
func (s *Server) CreatePrescription(p rx.Prescription) (string, error) {
	ctx := context.Background()
	var id string
	err := s.store.write(ctx, func(tx *sql.Tx) error {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
		}
		hid, err := hetu.Parse(p.Patient)
		if err != nil {
			return bad("patient: %v", err)
		}
		var patientID string
		if err := tx.QueryRowContext(ctx, `SELECT id FROM patient WHERE hetu = ?`, hid.String()).Scan(&patientID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return bad("no patient %s", hid.Masked())
			}
			return err
		}
		if len(p.Medicine.Packages) == 0 {
			return bad("the medicine names no package (VNR)")
		}
		pkg := prescribedPackage(p.Medicine, p.Quantity)
		med, ok, err := getMedication(ctx, tx, "med-"+pkg.VNR)
		if err != nil {
			return err
		}
		if !ok {
			return bad("unknown package %s", pkg.VNR)
		}
		if p.Form == "" {
			p.Form = rx.FormElectronic
		}
		if !p.Form.Valid() {
			return bad("form %q", p.Form)
		}
		if p.Status == "" {
			p.Status = rx.StatusActive
		}
		if p.Status != rx.StatusActive && p.Status != rx.StatusCancelled && p.Status != rx.StatusCompleted {
			return bad("status %q", p.Status)
		}
		if p.Quantity < 1 || p.Repeats < 0 || p.Dispensed < 0 || p.Dispensed > p.Total() {
			return bad("quantity %d, repeats %d, dispensed %d", p.Quantity, p.Repeats, p.Dispensed)
		}
		if p.Issued.IsZero() {
			p.Issued = s.now()
		}
		issued := dateIn(p.Issued, time.UTC)
		p.Medicine.Narcotic, p.Medicine.PKV = med.Class == "narcotic", med.Class == "pkv"
		p.Issued = issued
		if p.Status == rx.StatusActive && p.Remaining() == 0 {
			p.Status = rx.StatusCompleted
		}
		id = p.ID
		if id == "" {
			n, err := nextID(ctx, tx, "e_prescription", "")
			if err != nil {
				return err
			}
			num, _ := strconv.Atoi(n)
			id = fmt.Sprintf("EP9%07d", num)
		} else if !idPattern.MatchString(id) {
			return bad("id %q is not a FHIR id", id)
		} else if _, exists, err := getRequest(ctx, tx, id); err != nil {
			return err
		} else if exists {
			return fmt.Errorf("%w: prescription %s exists already", ErrRefused, id)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO medication_request (id, patient_id, medication_id, status, form, authored_on, valid_end, quantity, unit, repeats,
				dispensed, locked_by, dosage, requester_name, requester_reg, exception_reason, version, last_updated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`,
			id, patientID, med.ID, string(p.Status), string(p.Form), issued.Format(time.DateOnly), p.ValidUntil(lawValidity).Format(time.DateOnly),
			p.Quantity, med.Unit, p.Repeats, p.Dispensed, p.LockedBy, p.Dosage, p.Prescriber.Name, p.Prescriber.Registration, p.Reason,
			s.now().Format(lastUpdatedLayout))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("create prescription: %w", err)
	}
	s.log.Info("lever", "op", "create prescription", "prescription", id)
	return id, nil
}

// adminPrescription is the admin API's JSON for CreatePrescription.
type adminPrescription struct {
	ID         string `json:"id"`
	Patient    string `json:"patient"`
	VNR        string `json:"vnr"`
	Prescriber struct {
		Name         string `json:"name"`
		Registration string `json:"registration"`
	} `json:"prescriber"`
	Issued   string `json:"issued"` // YYYY-MM-DD; empty: today
	Quantity int    `json:"quantity"`
	Repeats  int    `json:"repeats"`
	Dosage   string `json:"dosage"`
	Form     string `json:"form"`
}

// leverRoutes adds the levers to the admin API.
func (s *Server) leverRoutes(mux *http.ServeMux, writeJSON func(http.ResponseWriter, int, any), fail func(http.ResponseWriter, int, string)) {
	decode := func(w http.ResponseWriter, r *http.Request, v any) bool {
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			fail(w, http.StatusBadRequest, "read request: "+err.Error())
			return false
		}
		return true
	}
	answer := func(w http.ResponseWriter, id string, err error) {
		switch {
		case errors.Is(err, ErrUnknownPrescription):
			fail(w, http.StatusNotFound, err.Error())
		case errors.Is(err, ErrRefused):
			fail(w, http.StatusConflict, err.Error())
		case errors.Is(err, ErrInvalid):
			fail(w, http.StatusBadRequest, err.Error())
		case err != nil:
			fail(w, http.StatusInternalServerError, err.Error())
		default:
			rq, _, err := getRequest(context.Background(), s.store.r, id)
			if err != nil {
				fail(w, http.StatusInternalServerError, err.Error())
				return
			}
			writeJSON(w, http.StatusOK, map[string]string{"id": id, "version": strconv.Itoa(rq.Version)})
		}
	}
	mux.HandleFunc("POST /prescriptions/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
		answer(w, r.PathValue("id"), s.CancelPrescription(r.PathValue("id")))
	})
	mux.HandleFunc("POST /prescriptions/{id}/lock", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			By string `json:"by"`
		}
		if decode(w, r, &b) {
			answer(w, r.PathValue("id"), s.LockPrescription(r.PathValue("id"), b.By))
		}
	})
	mux.HandleFunc("POST /prescriptions/{id}/unlock", func(w http.ResponseWriter, r *http.Request) {
		answer(w, r.PathValue("id"), s.UnlockPrescription(r.PathValue("id")))
	})
	mux.HandleFunc("POST /prescriptions/{id}/dispense-elsewhere", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Quantity int    `json:"quantity"`
			Pharmacy string `json:"pharmacy"`
		}
		if decode(w, r, &b) {
			answer(w, r.PathValue("id"), s.DispenseElsewhere(r.PathValue("id"), b.Quantity, b.Pharmacy))
		}
	})
	mux.HandleFunc("PUT /prescriptions/{id}/issued", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Issued string `json:"issued"`
		}
		if !decode(w, r, &b) {
			return
		}
		day, err := time.Parse(time.DateOnly, b.Issued)
		if err != nil {
			fail(w, http.StatusBadRequest, "issued "+strconv.Quote(b.Issued)+" is not a date (YYYY-MM-DD)")
			return
		}
		answer(w, r.PathValue("id"), s.SetPrescriptionIssued(r.PathValue("id"), day))
	})
	mux.HandleFunc("POST /catalogue/changes", func(w http.ResponseWriter, r *http.Request) {
		var b CatalogueChange
		if !decode(w, r, &b) {
			return
		}
		changed, err := s.ChangeCatalogue(b)
		switch {
		case errors.Is(err, ErrInvalid):
			fail(w, http.StatusBadRequest, err.Error())
		case err != nil:
			fail(w, http.StatusInternalServerError, err.Error())
		default:
			writeJSON(w, http.StatusOK, changed)
		}
	})
	mux.HandleFunc("POST /prescriptions", func(w http.ResponseWriter, r *http.Request) {
		var b adminPrescription
		if !decode(w, r, &b) {
			return
		}
		p := rx.Prescription{
			ID: b.ID, Patient: b.Patient, Prescriber: rx.Prescriber{Name: b.Prescriber.Name, Registration: b.Prescriber.Registration},
			Medicine: rx.Medicine{Packages: []rx.Package{{VNR: b.VNR, Size: b.Quantity}}},
			Form:     rx.Form(b.Form), Dosage: b.Dosage, Quantity: b.Quantity, Repeats: b.Repeats,
		}
		if b.Issued != "" {
			day, err := time.Parse(time.DateOnly, b.Issued)
			if err != nil {
				fail(w, http.StatusBadRequest, "issued "+strconv.Quote(b.Issued)+" is not a date (YYYY-MM-DD)")
				return
			}
			p.Issued = day
		}
		id, err := s.CreatePrescription(p)
		answer(w, id, err)
	})
}
