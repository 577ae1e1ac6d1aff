package catalogue

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tiski-rx/tiski/pkg/rx"
)

func TestSizeAndUnit(t *testing.T) {
	for _, c := range []struct {
		text, form string
		size       int
		unit       string
	}{
		{"30 fol", "tabletti, kalvopäällysteinen", 30, "tablet"},
		{"100 ml", "oraaliliuos", 100, "ml"},
		{"5 x 3 ml", "injektioneste, liuos", 15, "ml"},
		{"5x3ml", "injektioneste, liuos", 15, "ml"},
		{"28 kpl", "kapseli, kova", 28, "capsule"},
		{"200 annosta", "inhalaatiojauhe", 200, "dose"},
		{"", "tabletti", 0, "tablet"},
		{"50 g", "emulsiovoide", 50, "g"},
		{"7 kpl", "depotlaastari", 7, "patch"},
	} {
		size, unit := sizeAndUnit(c.text, c.form)
		if size != c.size || unit != c.unit {
			t.Errorf("sizeAndUnit(%q, %q) = %d %q, want %d %q", c.text, c.form, size, unit, c.size, c.unit)
		}
	}
}

func TestFindAndProduct(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	pkgs := []Package{
		{VNR: "123456", Name: "Burana", Strength: "400 mg", Form: "tabletti", Size: 30, Unit: "tablet", SubstitutionGroup: "G1"},
		{VNR: "123457", Name: "Burana", Strength: "400 mg", Form: "tabletti", Size: 10, Unit: "tablet", SubstitutionGroup: "G1"},
		{VNR: "123458", Name: "Burana", Strength: "600 mg", Form: "tabletti", Size: 30, Unit: "tablet"},
		{VNR: "223456", Name: "Ibuxin", Strength: "400 mg", Form: "tabletti", Size: 30, Unit: "tablet", SubstitutionGroup: "G1", NarcoticClass: "-", PKVClass: "PKV"},
	}
	if _, err := Replace(ctx, path, Info{Source: SourceFimea, Version: "t"}, pkgs); err != nil {
		t.Fatal(err)
	}
	c, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m, err := c.Product(ctx, "123456")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Packages) != 2 || m.Packages[0] != (rx.Package{VNR: "123457", Size: 10}) || m.Packages[1].VNR != "123456" {
		t.Errorf("product of 123456: packages %+v, want 123457 (10) then 123456 (30)", m.Packages)
	}
	if m.Unit != "tablet" || m.SubstitutionGroup != "G1" || m.Narcotic || m.PKV {
		t.Errorf("product of 123456: %+v", m)
	}
	got, err := c.Find(ctx, "bur", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Strength != "400 mg" || got[1].Strength != "600 mg" {
		t.Errorf("find bur: %+v, want Burana 400 mg and 600 mg", got)
	}
	got, err = c.Find(ctx, "2234", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "Ibuxin" || !got[0].PKV || got[0].Narcotic {
		t.Errorf("find 2234: %+v, want Ibuxin, PKV, not a narcotic", got)
	}
	if got, _ := c.Find(ctx, "1234", 1); len(got) != 1 {
		t.Errorf("find 1234 with n 1: %d products", len(got))
	}
}

func TestFromFixtures(t *testing.T) {
	meds := []rx.Medicine{{ID: "x", Name: "Oxynorm", Strength: "5 mg", Form: "capsule", Unit: "capsule", Narcotic: true,
		Packages: []rx.Package{{VNR: "990001", Size: 28}, {VNR: "990002", Size: 98}}}}
	pkgs := FromFixtures(meds)
	if len(pkgs) != 2 || pkgs[1].Size != 98 || !ClassGiven(pkgs[0].NarcoticClass) || ClassGiven(pkgs[0].PKVClass) {
		t.Errorf("FromFixtures: %+v", pkgs)
	}
}
