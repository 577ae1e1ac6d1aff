package rx_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/rx"
)

var validateNow = time.Date(2026, time.November, 22, 14, 0, 0, 0, time.UTC)

var kavepenin = rx.Medicine{
	ID: "kavepenin-1milj-tabl", Name: "Kåvepenin", Substance: "phenoxymethylpenicillin", ATC: "J01CE02",
	Strength: "1 million IU", Form: "film-coated tablet", Unit: "tablet", Category: "antibiotic",
	Packages: []rx.Package{{VNR: "990531", Size: 30}, {VNR: "990532", Size: 40}},
}

var pharmacist = rx.Pharmacist{ID: "mlaakso", Name: "Maija Laakso", Registration: "10098765432", Role: rx.RolePharmacist}

func recordedTelephone() rx.Prescription {
	return rx.Prescription{
		Patient: testCode(906),
		Prescriber: rx.Prescriber{
			Name: "Jari Koskinen", Registration: "10094180259", Profession: rx.Physician,
		},
		Medicine: kavepenin,
		Form:     rx.FormTelephone,
		Issued:   date(2026, 11, 22),
		Dosage:   "1 tablet 3 times a day for 10 days",
		Quantity: 30,
		Reason:   "The prescriber's patient record system is down.",
		RecordID: "6f1c2b8e-3d4a-4e5f-9a7b-2c1d0e9f8a7b",
		Recorder: &pharmacist,
		Telephone: &rx.TelephoneCall{
			Phone:        "09 816 33507",
			Time:         validateNow.Add(-20 * time.Minute),
			Verification: "called back to the health centre's switchboard",
		},
	}
}

func recordedPaper() rx.Prescription {
	p := recordedTelephone()
	p.Form = rx.FormPaper
	p.Telephone = nil
	p.Issued = date(2026, 11, 20)
	return p
}

func TestValidateRecorded(t *testing.T) {
	student := rx.Pharmacist{ID: "opiskelija", Name: "Olli Opiskelija", Role: rx.RoleStudent}
	tests := []struct {
		name   string
		base   func() rx.Prescription
		change func(*rx.Prescription)
		field  string // "" when the prescription is valid
		want   string // in the field's message
	}{
		{"valid telephone", recordedTelephone, func(*rx.Prescription) {}, "", ""},
		{"valid paper", recordedPaper, func(*rx.Prescription) {}, "", ""},
		{"valid dentist", recordedPaper, func(p *rx.Prescription) { p.Prescriber.Profession = rx.Dentist }, "", ""},
		{"valid call before issue day ends", recordedTelephone, func(p *rx.Prescription) { p.Telephone.Time = validateNow.Add(-13 * time.Hour) }, "", ""},

		{"form missing", recordedPaper, func(p *rx.Prescription) { p.Form = "" }, "form", "choose paper or telephone"},
		{"form electronic", recordedPaper, func(p *rx.Prescription) { p.Form = rx.FormElectronic }, "form", "only paper or telephone"},
		{"paper with call details", recordedPaper, func(p *rx.Prescription) { p.Telephone = &rx.TelephoneCall{Phone: "09 123456"} }, "form", "only to a telephone prescription"},

		{"patient missing", recordedPaper, func(p *rx.Prescription) { p.Patient = "" }, "patient", "identity code is missing"},
		{"patient check character", recordedPaper, func(p *rx.Prescription) { p.Patient = wrongCheck(testCode(906)) }, "patient", "check character should be"},
		{"patient century sign", recordedPaper, func(p *rx.Prescription) { p.Patient = "010180G906X" }, "patient", "century sign 'G' is not one of"},

		{"prescriber name missing", recordedPaper, func(p *rx.Prescription) { p.Prescriber.Name = " " }, "prescriber name", "name is missing"},
		{"registration missing", recordedPaper, func(p *rx.Prescription) { p.Prescriber.Registration = "" }, "prescriber registration", "registration number (Valvira) is missing"},
		{"registration not digits", recordedPaper, func(p *rx.Prescription) { p.Prescriber.Registration = "1009-4180" }, "prescriber registration", "digits only"},
		{"profession missing", recordedPaper, func(p *rx.Prescription) { p.Prescriber.Profession = "" }, "prescriber profession", "choose physician or dentist"},
		{"nurse", recordedPaper, func(p *rx.Prescription) { p.Prescriber.Profession = rx.Nurse }, "prescriber profession", "a nurse may not issue"},
		{"unknown profession", recordedPaper, func(p *rx.Prescription) { p.Prescriber.Profession = "veterinarian" }, "prescriber profession", `"veterinarian" may not issue`},

		{"medicine missing", recordedPaper, func(p *rx.Prescription) { p.Medicine = rx.Medicine{} }, "medicine", "choose the medicine"},
		{"medicine without packages", recordedPaper, func(p *rx.Prescription) { p.Medicine.Packages = nil }, "medicine", "no package on sale"},
		{"dosage missing", recordedPaper, func(p *rx.Prescription) { p.Dosage = "\t" }, "dosage", "dosage instruction is missing"},
		{"quantity zero", recordedPaper, func(p *rx.Prescription) { p.Quantity = 0 }, "quantity", "quantity must be above zero"},
		{"quantity negative", recordedPaper, func(p *rx.Prescription) { p.Quantity = -30 }, "quantity", "quantity must be above zero"},
		{"repeats negative", recordedPaper, func(p *rx.Prescription) { p.Repeats = -1 }, "repeats", "cannot be negative"},
		{"issue date missing", recordedPaper, func(p *rx.Prescription) { p.Issued = time.Time{} }, "issue date", "issue date is missing"},
		{"issue date tomorrow", recordedPaper, func(p *rx.Prescription) { p.Issued = date(2026, 11, 23) }, "issue date", "issue date cannot be in the future"},
		{"reason missing", recordedPaper, func(p *rx.Prescription) { p.Reason = "" }, "reason", "reason for not issuing an e-prescription is missing"},

		{"phone missing", recordedTelephone, func(p *rx.Prescription) { p.Telephone.Phone = "" }, "prescriber phone", "the telephone prescription needs the prescriber's phone number"},
		{"phone not a number", recordedTelephone, func(p *rx.Prescription) { p.Telephone.Phone = "ask reception" }, "prescriber phone", "only digits"},
		{"phone too short", recordedTelephone, func(p *rx.Prescription) { p.Telephone.Phone = "112" }, "prescriber phone", "at least 6 digits"},
		{"call time missing", recordedTelephone, func(p *rx.Prescription) { p.Telephone.Time = time.Time{} }, "call time", "time of the call is missing"},
		{"call time in the future", recordedTelephone, func(p *rx.Prescription) { p.Telephone.Time = validateNow.Add(time.Hour) }, "call time", "call time cannot be in the future"},
		{"call before issue date", recordedTelephone, func(p *rx.Prescription) { p.Telephone.Time = date(2026, 11, 21).Add(15 * time.Hour) }, "call time", "cannot be before the issue date"},
		{"verification missing", recordedTelephone, func(p *rx.Prescription) { p.Telephone.Verification = "" }, "verification", "how the caller was verified"},

		{"recorder missing", recordedPaper, func(p *rx.Prescription) { p.Recorder = nil }, "recorder", "pharmacist recording the prescription is missing"},
		{"recorder without a name", recordedPaper, func(p *rx.Prescription) { p.Recorder = &rx.Pharmacist{Role: rx.RolePharmacist} }, "recorder", "is missing"},
		{"recorder a student", recordedPaper, func(p *rx.Prescription) { p.Recorder = &student }, "recorder", "a pharmacy student may not record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.base()
			if p.Telephone != nil {
				call := *p.Telephone // do not share the call between cases
				p.Telephone = &call
			}
			tt.change(&p)
			checkProblems(t, p.ValidateRecorded(validateNow), tt.field, tt.want)
		})
	}
}

func TestValidateRecordedWithoutCallDetails(t *testing.T) {
	p := recordedTelephone()
	p.Telephone = nil
	err := p.ValidateRecorded(validateNow)
	var v *rx.ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("error %v is not a *rx.ValidationError", err)
	}
	want := []rx.FieldError{
		{Field: "prescriber phone", Message: "the telephone prescription needs the prescriber's phone number"},
		{Field: "call time", Message: "the time of the call is missing"},
		{Field: "verification", Message: "record how the caller was verified, for example a call back to a known number"},
	}
	if !slices.Equal(v.Problems, want) {
		t.Errorf("problems = %v, want %v", v.Problems, want)
	}
}

func TestValidateRecordedReportsAllProblems(t *testing.T) {
	err := rx.Prescription{Form: rx.FormTelephone}.ValidateRecorded(validateNow)
	var v *rx.ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("error %v is not a *rx.ValidationError", err)
	}
	fields := map[string]bool{}
	for _, p := range v.Problems {
		fields[p.Field] = true
	}
	for _, f := range []string{"patient", "prescriber name", "prescriber registration", "prescriber profession", "medicine",
		"dosage", "quantity", "issue date", "reason", "prescriber phone", "call time", "verification", "recorder"} {
		if !fields[f] {
			t.Errorf("no problem reported for %s; got %v", f, v.Problems)
		}
	}
	if rx.ErrorCode(err) != rx.EINVALID {
		t.Errorf("ErrorCode = %q, want %q", rx.ErrorCode(err), rx.EINVALID)
	}
}

func validDispensing() rx.Dispensing {
	return rx.Dispensing{
		ID:             "0b7e6a52-9c1d-4f3e-8a2b-5d6c7e8f9a01",
		PrescriptionID: "EP26000601",
		Patient:        testCode(906),
		Medicine:       kavepenin,
		VNR:            "990531",
		Quantity:       30,
		Time:           validateNow.Add(-time.Minute),
		Pharmacist:     pharmacist,
		Pharmacy:       rx.Pharmacy{Name: "Helsingin Kallion apteekki", OID: "1.2.246.10.12345678.10.0"},
	}
}

func TestDispensingValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*rx.Dispensing)
		field  string // "" when the dispensing is valid
		want   string
	}{
		{"valid", func(*rx.Dispensing) {}, "", ""},
		{"valid on a recorded prescription", func(d *rx.Dispensing) {
			d.PrescriptionID, d.PrescriptionRecord = "", "6f1c2b8e-3d4a-4e5f-9a7b-2c1d0e9f8a7b"
		}, "", ""},
		{"valid essential on an instruction sheet", func(d *rx.Dispensing) { d.Essential, d.Basis = true, rx.BasisInstructionSheet }, "", ""},
		{"valid essential on a previous label, no prescription", func(d *rx.Dispensing) {
			d.Essential, d.Basis, d.PrescriptionID = true, rx.BasisPreviousLabel, ""
		}, "", ""},
		{"valid upper-case UUID", func(d *rx.Dispensing) { d.ID = strings.ToUpper(d.ID) }, "", ""},
		{"valid ten packs", func(d *rx.Dispensing) { d.Quantity = 300 }, "", ""},
		{"valid within clock skew", func(d *rx.Dispensing) { d.Time = validateNow.Add(30 * time.Second) }, "", ""},

		{"id missing", func(d *rx.Dispensing) { d.ID = "" }, "id", "must be a UUID"},
		{"id not a UUID", func(d *rx.Dispensing) { d.ID = "0b7e6a52-9c1d-4f3e-8a2b-5d6c7e8f9a0g" }, "id", "must be a UUID"},
		{"id without hyphens", func(d *rx.Dispensing) { d.ID = "0b7e6a529c1d4f3e8a2b5d6c7e8f9a01" }, "id", "must be a UUID"},

		{"patient missing", func(d *rx.Dispensing) { d.Patient = "" }, "patient", "identity code is missing"},
		{"patient check character", func(d *rx.Dispensing) { d.Patient = wrongCheck(testCode(906)) }, "patient", "check character should be"},
		{"patient impossible date", func(d *rx.Dispensing) { d.Patient = "310280-906X" }, "patient", "day 31 does not exist in February 1980"},

		{"no prescription", func(d *rx.Dispensing) { d.PrescriptionID = "" }, "prescription", "prescription is missing"},
		{"both prescriptions", func(d *rx.Dispensing) { d.PrescriptionRecord = "6f1c2b8e-3d4a-4e5f-9a7b-2c1d0e9f8a7b" }, "prescription", "not both"},
		{"essential on a summary still names the prescription", func(d *rx.Dispensing) {
			d.Essential, d.Basis, d.PrescriptionID = true, rx.BasisSummary, ""
		}, "prescription", "prescription is missing"},
		{"prescription id with a slash", func(d *rx.Dispensing) { d.PrescriptionID = "EP26/0601" }, "prescription", "only letters, digits"},
		{"recorded prescription not a UUID", func(d *rx.Dispensing) { d.PrescriptionID, d.PrescriptionRecord = "", "record-1" }, "prescription", "must be a UUID"},

		{"medicine missing", func(d *rx.Dispensing) { d.Medicine = rx.Medicine{} }, "medicine", "choose the medicine"},
		{"package missing", func(d *rx.Dispensing) { d.VNR = "" }, "package", "choose the package"},
		{"package of another medicine", func(d *rx.Dispensing) { d.VNR = "990011" }, "package", "990011 is not a package of Kåvepenin"},

		{"quantity zero", func(d *rx.Dispensing) { d.Quantity = 0 }, "quantity", "quantity must be above zero"},
		{"quantity negative", func(d *rx.Dispensing) { d.Quantity = -1 }, "quantity", "quantity must be above zero"},
		{"quantity over ten packs", func(d *rx.Dispensing) { d.Quantity = 301 }, "quantity", "more than 10 packs of 30 (300)"},
		{"ten packs of the larger package", func(d *rx.Dispensing) { d.VNR, d.Quantity = "990532", 401 }, "quantity", "more than 10 packs of 40 (400)"},

		{"time missing", func(d *rx.Dispensing) { d.Time = time.Time{} }, "time", "dispensing time is missing"},
		{"time in the future", func(d *rx.Dispensing) { d.Time = validateNow.Add(5 * time.Minute) }, "time", "cannot be in the future"},

		{"pharmacist missing", func(d *rx.Dispensing) { d.Pharmacist = rx.Pharmacist{} }, "pharmacist", "the pharmacist is missing"},
		{"student", func(d *rx.Dispensing) { d.Pharmacist.Role = rx.RoleStudent }, "pharmacist", "a pharmacy student may not record"},
		{"IT support", func(d *rx.Dispensing) { d.Pharmacist.Role = rx.RoleIT }, "pharmacist", "IT support may not record"},
		{"trainer", func(d *rx.Dispensing) { d.Pharmacist.Role = rx.RoleTrainer }, "pharmacist", "a trainer may not record"},
		{"no role", func(d *rx.Dispensing) { d.Pharmacist.Role = "" }, "pharmacist", "without a role may not record"},

		{"essential without basis", func(d *rx.Dispensing) { d.Essential = true }, "basis", "choose what the essential-medication dispensing is based on"},
		{"essential with unknown basis", func(d *rx.Dispensing) { d.Essential, d.Basis = true, "phone call" }, "basis", `"phone call" is not`},
		{"basis without essential", func(d *rx.Dispensing) { d.Basis = rx.BasisSummary }, "basis", "only to an essential-medication dispensing"},
		{"previous label without essential", func(d *rx.Dispensing) { d.Basis = rx.BasisPreviousLabel }, "basis", "only to an essential-medication dispensing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDispensing()
			tt.change(&d)
			checkProblems(t, d.Validate(validateNow), tt.field, tt.want)
		})
	}
}

func TestDispensingValidateReportsAllProblems(t *testing.T) {
	err := rx.Dispensing{Essential: true}.Validate(validateNow)
	var v *rx.ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("error %v is not a *rx.ValidationError", err)
	}
	fields := map[string]bool{}
	for _, p := range v.Problems {
		fields[p.Field] = true
	}
	for _, f := range []string{"id", "patient", "prescription", "medicine", "quantity", "time", "pharmacist", "basis"} {
		if !fields[f] {
			t.Errorf("no problem reported for %s; got %v", f, v.Problems)
		}
	}
}

// TestValidationNeverRepeatsTheCode guards the rule that no identity code
// reaches a log line: validation messages are logged.
func TestValidationNeverRepeatsTheCode(t *testing.T) {
	code := wrongCheck(testCode(906))
	d := validDispensing()
	d.Patient = code
	err := d.Validate(validateNow)
	if err == nil || strings.Contains(err.Error(), code) || strings.Contains(err.Error(), code[:6]) {
		t.Errorf("error %q repeats the identity code", err)
	}
}

func TestIsUUID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"0b7e6a52-9c1d-4f3e-8a2b-5d6c7e8f9a01", true},
		{"0B7E6A52-9C1D-4F3E-8A2B-5D6C7E8F9A01", true},
		{"", false},
		{"0b7e6a52-9c1d-4f3e-8a2b-5d6c7e8f9a0", false},
		{"0b7e6a52+9c1d-4f3e-8a2b-5d6c7e8f9a01", false},
		{"{0b7e6a52-9c1d-4f3e-8a2b-5d6c7e8f9a0}", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := rx.IsUUID(tt.in); got != tt.want {
				t.Errorf("IsUUID(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestChecksAsTyped(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(string) bool
		in   string
		want bool
	}{
		{"digits", rx.DigitsOnly, "10090004180", true},
		{"digits with a letter", rx.DigitsOnly, "1009000418O", false},
		{"digits empty", rx.DigitsOnly, "", false},
		{"phone", rx.LooksLikePhone, "+358 (09) 310-45021", true},
		{"phone short", rx.LooksLikePhone, "12 34", false},
		{"phone letters", rx.LooksLikePhone, "09 310 4502x", false},
		{"id", rx.IsFHIRID, "EP26000101", true},
		{"id with a dot and a dash", rx.IsFHIRID, "EP-2600.0101", true},
		{"id with a slash", rx.IsFHIRID, "EP2600/0101", false},
		{"id empty", rx.IsFHIRID, "", false},
		{"id too long", rx.IsFHIRID, strings.Repeat("A", 65), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f(tc.in); got != tc.want {
				t.Fatalf("%q: %v", tc.in, got)
			}
		})
	}
}

// checkProblems asserts err is nil when field is "", and otherwise a
// *rx.ValidationError with a problem on field whose message holds want.
func checkProblems(t *testing.T, err error, field, want string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("want valid, got %v", err)
		}
		return
	}
	var v *rx.ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("error %v is not a *rx.ValidationError", err)
	}
	for _, p := range v.Problems {
		if p.Field == field && strings.Contains(p.Message, want) {
			if len(v.Problems) != 1 {
				t.Errorf("want one problem, got %v", v.Problems)
			}
			return
		}
	}
	t.Errorf("no %s problem saying %q; got %v", field, want, v.Problems)
}

// wrongCheck returns code with a wrong check character.
func wrongCheck(code string) string {
	c := code[:10] + "0"
	if _, err := hetu.Parse(c); err == nil {
		c = code[:10] + "1"
	}
	return c
}
