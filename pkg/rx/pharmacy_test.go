package rx_test

import (
	"strings"
	"testing"

	"github.com/tiski-rx/tiski/pkg/rx"
)

func TestCheckOID(t *testing.T) {
	for _, ok := range []string{"1.2.246.10.12345678.10.0", "urn:oid:1.2.246.10.12345678.10.0", " 2.16.840.1 ", "0.9"} {
		if err := rx.CheckOID(ok); err != nil {
			t.Errorf("CheckOID(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "urn:oid:", "apteekki", "1", "3.1.2", "1..2", "1.02.3", "1.2.x", "1.2.3.", "oid:1.2.3", "1.2 .3"} {
		err := rx.CheckOID(bad)
		if err == nil {
			t.Errorf("CheckOID(%q) accepted it", bad)
			continue
		}
		if bad != "" && bad != "urn:oid:" && !strings.Contains(err.Error(), "is not an OID") {
			t.Errorf("CheckOID(%q): %v, want it to say it is not an OID", bad, err)
		}
	}
}

func TestPharmacyCheck(t *testing.T) {
	if err := (rx.Pharmacy{Name: "Apteekki Tiski", OID: "1.2.246.10.12345678.10.0"}).Check(); err != nil {
		t.Errorf("a complete identity: %v", err)
	}
	for _, tt := range []struct {
		p    rx.Pharmacy
		want []string
		not  []string
	}{
		{rx.Pharmacy{Name: "Apteekki Tiski"}, []string{"pharmacy.oid is not set"}, []string{"pharmacy.name"}},
		{rx.Pharmacy{OID: "1.2.246.10.12345678.10.0"}, []string{"pharmacy.name is not set"}, []string{"pharmacy.oid"}},
		{rx.Pharmacy{Name: " ", OID: " "}, []string{"pharmacy.oid and pharmacy.name are not set"}, nil},
		{rx.Pharmacy{Name: "Apteekki Tiski", OID: "1.2.246.x"}, []string{"pharmacy.oid", "is not an OID"}, nil},
	} {
		err := tt.p.Check()
		if rx.ErrorCode(err) != rx.ECONFIG {
			t.Errorf("%+v: code %q (%v), want %q", tt.p, rx.ErrorCode(err), err, rx.ECONFIG)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %q lacks %q", tt.p, err, w)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(err.Error(), n) {
				t.Errorf("%+v: %q names %q, which is set", tt.p, err, n)
			}
		}
	}
}
