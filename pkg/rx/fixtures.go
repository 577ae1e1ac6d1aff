package rx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/tiski-rx/tiski/pkg/hetu"
)

// Fixtures is the seed data of the simulator and the demo: medicines,
// prescribers, patients and prescriptions. Dates in the files are relative to
// the moment they are loaded, so the states they cover (valid, in grace,
// expired) hold on any day.
type Fixtures struct {
	Medicines     []Medicine
	Prescribers   []Prescriber
	Patients      []Patient
	Prescriptions []Prescription
	// Dispensings are the earlier dispensings of the prescriptions, oldest first.
	Dispensings []FixtureDispensing
}

// FixtureDispensing is an earlier dispensing of a fixture prescription.
type FixtureDispensing struct {
	PrescriptionID string
	Time           time.Time
	Quantity       int
	Pharmacy       string
}

// fixture file shapes.
type (
	medicinesFile struct {
		Note      string     `json:"note"`
		Medicines []Medicine `json:"medicines"`
	}
	prescribersFile struct {
		Note        string       `json:"note"`
		Prescribers []Prescriber `json:"prescribers"`
	}
	patientsFile struct {
		Note     string    `json:"note"`
		Patients []Patient `json:"patients"`
	}
	prescriptionsFile struct {
		Note          string                `json:"note"`
		Prescriptions []fixturePrescription `json:"prescriptions"`
	}
	fixturePrescription struct {
		ID              string `json:"id"`
		Patient         string `json:"patient"`    // HETU
		Prescriber      string `json:"prescriber"` // prescriber id
		Medicine        string `json:"medicine"`   // medicine id
		Form            Form   `json:"form"`
		IssuedMonthsAgo int    `json:"issued_months_ago"`
		IssuedDaysAgo   int    `json:"issued_days_ago"`
		Dosage          string `json:"dosage"`
		Quantity        int    `json:"quantity"`
		Repeats         int    `json:"repeats"`
		Status          Status `json:"status"`
		LockedBy        string `json:"locked_by"`
		Reason          string `json:"reason"`
		Note            string `json:"note"` // which state the fixture is for; for readers
		Dispensings     []struct {
			DaysAgo  int    `json:"days_ago"`
			Quantity int    `json:"quantity"`
			Pharmacy string `json:"pharmacy"`
		} `json:"dispensings"`
	}
)

// LoadFixtures reads medicines.json, prescribers.json, patients.json and
// prescriptions.json from fsys, resolving relative dates against now, and
// checks that every reference resolves and every identity code is valid.
func LoadFixtures(fsys fs.FS, now time.Time) (*Fixtures, error) {
	var (
		meds  medicinesFile
		docs  prescribersFile
		pats  patientsFile
		rxs   prescriptionsFile
		files = []struct {
			name string
			v    any
		}{{"medicines.json", &meds}, {"prescribers.json", &docs}, {"patients.json", &pats}, {"prescriptions.json", &rxs}}
	)
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f.name)
		if err != nil {
			return nil, fmt.Errorf("read fixtures: %w", err)
		}
		if err := decodeStrict(b, f.v); err != nil {
			return nil, fmt.Errorf("read fixtures %s: %w", f.name, err)
		}
	}
	fx := &Fixtures{Medicines: meds.Medicines, Prescribers: docs.Prescribers, Patients: pats.Patients}
	medByID := map[string]Medicine{}
	for _, m := range fx.Medicines {
		if _, dup := medByID[m.ID]; dup {
			return nil, fmt.Errorf("fixtures: medicine %q appears twice", m.ID)
		}
		if len(m.Packages) == 0 {
			return nil, fmt.Errorf("fixtures: medicine %q has no packages", m.ID)
		}
		medByID[m.ID] = m
	}
	docByID := map[string]Prescriber{}
	for _, d := range fx.Prescribers {
		docByID[d.ID] = d
	}
	patByHETU := map[string]bool{}
	for _, p := range fx.Patients {
		id, err := hetu.Parse(p.HETU)
		if err != nil {
			return nil, fmt.Errorf("fixtures: patient %s %s: %w", p.Given, p.Family, err)
		}
		if !id.IsTest() {
			return nil, fmt.Errorf("fixtures: patient %s %s has a real identity code; fixtures use test codes (900-999) only", p.Given, p.Family)
		}
		patByHETU[id.String()] = true
	}
	seen := map[string]bool{}
	for _, f := range rxs.Prescriptions {
		if seen[f.ID] {
			return nil, fmt.Errorf("fixtures: prescription %q appears twice", f.ID)
		}
		seen[f.ID] = true
		m, ok := medByID[f.Medicine]
		if !ok {
			return nil, fmt.Errorf("fixtures: prescription %s: no medicine %q", f.ID, f.Medicine)
		}
		d, ok := docByID[f.Prescriber]
		if !ok {
			return nil, fmt.Errorf("fixtures: prescription %s: no prescriber %q", f.ID, f.Prescriber)
		}
		if !patByHETU[f.Patient] {
			return nil, fmt.Errorf("fixtures: prescription %s: no patient with that identity code", f.ID)
		}
		if !f.Form.Valid() {
			return nil, fmt.Errorf("fixtures: prescription %s: unknown form %q", f.ID, f.Form)
		}
		p := Prescription{
			ID: f.ID, Patient: f.Patient, Prescriber: d, Medicine: m, Form: f.Form,
			Issued: dateOnly(now.AddDate(0, -f.IssuedMonthsAgo, -f.IssuedDaysAgo)),
			Dosage: f.Dosage, Quantity: f.Quantity, Repeats: f.Repeats,
			Status: f.Status, LockedBy: f.LockedBy, Reason: f.Reason,
		}
		if p.Status == "" {
			p.Status = StatusActive
		}
		for _, disp := range f.Dispensings {
			p.Dispensed += disp.Quantity
			fx.Dispensings = append(fx.Dispensings, FixtureDispensing{
				PrescriptionID: f.ID, Time: now.AddDate(0, 0, -disp.DaysAgo).Truncate(time.Minute),
				Quantity: disp.Quantity, Pharmacy: disp.Pharmacy,
			})
		}
		if p.Quantity <= 0 || p.Dispensed > p.Total() {
			return nil, fmt.Errorf("fixtures: prescription %s: quantity %d with %d repeats cannot cover %d dispensed", f.ID, p.Quantity, p.Repeats, p.Dispensed)
		}
		fx.Prescriptions = append(fx.Prescriptions, p)
	}
	// The files list dispensings per prescription; Fixtures promises them
	// oldest first overall, the order they would have reached the Centre.
	slices.SortStableFunc(fx.Dispensings, func(a, b FixtureDispensing) int { return a.Time.Compare(b.Time) })
	return fx, nil
}

// Medicine returns the medicine with the id.
func (fx *Fixtures) Medicine(id string) (Medicine, bool) {
	for _, m := range fx.Medicines {
		if m.ID == id {
			return m, true
		}
	}
	return Medicine{}, false
}

// MedicineByVNR returns the medicine that has a package with the number vnr.
func (fx *Fixtures) MedicineByVNR(vnr string) (Medicine, bool) {
	for _, m := range fx.Medicines {
		if _, ok := m.Package(vnr); ok {
			return m, true
		}
	}
	return Medicine{}, false
}

func dateOnly(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
