package rx_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// law is how long prescriptions are valid under Finnish law today, as the
// built-in policy has it (pkg/policy's tests check that they agree).
var law = rx.ValidityRules{Months: 24, NarcoticPKVMonths: 12, TelephoneMonths: 3, GraceMonths: 1}

func TestValidityMonths(t *testing.T) {
	plain := rx.Medicine{ID: "cardace"}
	narcotic := rx.Medicine{ID: "oxynorm", Narcotic: true}
	pkv := rx.Medicine{ID: "diapam", PKV: true}
	tests := []struct {
		name string
		m    rx.Medicine
		f    rx.Form
		want int
	}{
		{"electronic", plain, rx.FormElectronic, 24},
		{"paper", plain, rx.FormPaper, 24},
		{"narcotic", narcotic, rx.FormElectronic, 12},
		{"PKV", pkv, rx.FormPaper, 12},
		{"telephone", plain, rx.FormTelephone, 3},
		{"telephone PKV", pkv, rx.FormTelephone, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := law.MonthsFor(tt.m, tt.f); got != tt.want {
				t.Errorf("MonthsFor = %d, want %d", got, tt.want)
			}
			// The months are the rules', not pkg/rx's.
			other := rx.ValidityRules{Months: 36, NarcoticPKVMonths: 6, TelephoneMonths: 2}
			if got, want := other.MonthsFor(tt.m, tt.f), map[int]int{24: 36, 12: 6, 3: 2}[tt.want]; got != want {
				t.Errorf("other rules: MonthsFor = %d, want %d", got, want)
			}
		})
	}
}

func TestValidityAt(t *testing.T) {
	plain := rx.Medicine{ID: "cardace"}
	narcotic := rx.Medicine{ID: "oxynorm", Narcotic: true}
	pkv := rx.Medicine{ID: "diapam", PKV: true}
	helsinki := time.FixedZone("EET", 2*60*60)
	tests := []struct {
		name   string
		m      rx.Medicine
		form   rx.Form
		issued time.Time
		at     time.Time
		want   rx.Validity
	}{
		{"issue day", plain, rx.FormElectronic, date(2025, 1, 15), date(2025, 1, 15), rx.Valid},
		{"24 months: last day, morning", plain, rx.FormElectronic, date(2025, 1, 15), date(2027, 1, 15).Add(time.Hour), rx.Valid},
		{"24 months: last day, last second", plain, rx.FormElectronic, date(2025, 1, 15), date(2027, 1, 16).Add(-time.Second), rx.Valid},
		{"24 months: day after", plain, rx.FormElectronic, date(2025, 1, 15), date(2027, 1, 16), rx.InGrace},
		{"24 months: last grace day", plain, rx.FormElectronic, date(2025, 1, 15), date(2027, 2, 15).Add(23 * time.Hour), rx.InGrace},
		{"24 months: after grace", plain, rx.FormElectronic, date(2025, 1, 15), date(2027, 2, 16), rx.Expired},
		{"narcotic: 12 months last day", narcotic, rx.FormElectronic, date(2025, 6, 10), date(2026, 6, 10), rx.Valid},
		{"narcotic: day after 12 months", narcotic, rx.FormElectronic, date(2025, 6, 10), date(2026, 6, 11), rx.InGrace},
		{"narcotic: after grace", narcotic, rx.FormElectronic, date(2025, 6, 10), date(2026, 7, 11), rx.Expired},
		{"PKV: 12 months", pkv, rx.FormElectronic, date(2025, 6, 10), date(2026, 6, 11), rx.InGrace},
		{"telephone: 3 months last day", plain, rx.FormTelephone, date(2026, 1, 10), date(2026, 4, 10), rx.Valid},
		{"telephone: day after 3 months", plain, rx.FormTelephone, date(2026, 1, 10), date(2026, 4, 11), rx.InGrace},
		{"telephone: after grace", plain, rx.FormTelephone, date(2026, 1, 10), date(2026, 5, 11), rx.Expired},
		{"31 August + 3 months ends 30 November", plain, rx.FormTelephone, date(2025, 8, 31), date(2025, 11, 30), rx.Valid},
		{"31 August + 3 months: 1 December in grace", plain, rx.FormTelephone, date(2025, 8, 31), date(2025, 12, 1), rx.InGrace},
		{"31 August + 3 months: grace ends 30 December", plain, rx.FormTelephone, date(2025, 8, 31), date(2025, 12, 31), rx.Expired},
		{"leap day + 12 months ends 28 February", pkv, rx.FormElectronic, date(2028, 2, 29), date(2029, 2, 28), rx.Valid},
		{"leap day + 12 months: 1 March in grace", pkv, rx.FormElectronic, date(2028, 2, 29), date(2029, 3, 1), rx.InGrace},
		{"Helsinki evening of the last day", plain, rx.FormElectronic, date(2025, 1, 15), time.Date(2027, 1, 15, 23, 30, 0, 0, helsinki), rx.Valid},
		{"Helsinki small hours after the last day", plain, rx.FormElectronic, date(2025, 1, 15), time.Date(2027, 1, 16, 0, 30, 0, 0, helsinki), rx.InGrace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := rx.Prescription{Medicine: tt.m, Form: tt.form, Issued: tt.issued}
			if got := p.ValidityAt(tt.at, law); got != tt.want {
				t.Errorf("ValidityAt(%s) = %s, want %s (valid until %s)", tt.at, got, tt.want, p.ValidUntil(law).Format(time.DateOnly))
			}
		})
	}
}

func TestValidityString(t *testing.T) {
	for v, want := range map[rx.Validity]string{rx.Valid: "valid", rx.InGrace: "in-grace", rx.Expired: "expired"} {
		if got := v.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", v, got, want)
		}
	}
}

func TestTotalAndRemaining(t *testing.T) {
	tests := []struct {
		name                         string
		quantity, repeats, dispensed int
		wantTotal, wantRemaining     int
	}{
		{"nothing dispensed", 100, 0, 0, 100, 100},
		{"with repeats", 100, 3, 0, 400, 400},
		{"partly dispensed", 100, 3, 150, 400, 250},
		{"all dispensed", 30, 1, 60, 60, 0},
		{"over-dispensed is zero, not negative", 30, 0, 45, 30, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := rx.Prescription{Quantity: tt.quantity, Repeats: tt.repeats, Dispensed: tt.dispensed}
			if got := p.Total(); got != tt.wantTotal {
				t.Errorf("Total = %d, want %d", got, tt.wantTotal)
			}
			if got := p.Remaining(); got != tt.wantRemaining {
				t.Errorf("Remaining = %d, want %d", got, tt.wantRemaining)
			}
		})
	}
}

func TestSmallestPackage(t *testing.T) {
	tests := []struct {
		name     string
		packages []rx.Package
		want     string
		wantOK   bool
	}{
		{"none", nil, "", false},
		{"one", []rx.Package{{VNR: "990011", Size: 30}}, "990011", true},
		{"smallest first", []rx.Package{{VNR: "990011", Size: 30}, {VNR: "990012", Size: 100}}, "990011", true},
		{"out of order", []rx.Package{{VNR: "990012", Size: 100}, {VNR: "990011", Size: 30}, {VNR: "990013", Size: 60}}, "990011", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := rx.Medicine{Packages: tt.packages}.SmallestPackage()
			if ok != tt.wantOK || got.VNR != tt.want {
				t.Errorf("SmallestPackage = %+v, %v; want %s, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestErrorCodeAndMessage(t *testing.T) {
	locked := rx.Errorf(rx.ECONFLICT, "The prescription is locked by %s.", "Tampereen Hervannan apteekki")
	invalid := &rx.ValidationError{}
	invalid.Add("quantity", "quantity must be above zero")
	invalid.Add("dosage", "the dosage instruction is missing")
	tests := []struct {
		name        string
		err         error
		wantCode    string
		wantMessage string
	}{
		{"nil", nil, "", ""},
		{"domain error", locked, rx.ECONFLICT, "The prescription is locked by Tampereen Hervannan apteekki."},
		{"wrapped domain error", fmt.Errorf("upload dispensing: %w", locked), rx.ECONFLICT, "The prescription is locked by Tampereen Hervannan apteekki."},
		{"validation error", invalid, rx.EINVALID, "quantity: quantity must be above zero; dosage: the dosage instruction is missing"},
		{"wrapped validation error", fmt.Errorf("record dispensing: %w", invalid), rx.EINVALID, "quantity: quantity must be above zero; dosage: the dosage instruction is missing"},
		{"other error", errors.New("database is locked"), rx.EINTERNAL, "Internal error."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rx.ErrorCode(tt.err); got != tt.wantCode {
				t.Errorf("ErrorCode = %q, want %q", got, tt.wantCode)
			}
			if got := rx.ErrorMessage(tt.err); got != tt.wantMessage {
				t.Errorf("ErrorMessage = %q, want %q", got, tt.wantMessage)
			}
		})
	}
}

func TestValidationErrorErr(t *testing.T) {
	var v rx.ValidationError
	if err := v.Err(); err != nil {
		t.Errorf("Err with no problems = %v, want nil", err)
	}
	v.Add("quantity", "quantity must be above zero")
	if err := v.Err(); err == nil || rx.ErrorCode(err) != rx.EINVALID {
		t.Errorf("Err with a problem = %v (code %q), want an EINVALID error", err, rx.ErrorCode(err))
	}
}
