package record_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"github.com/tiski-rx/tiski/pkg/catalogue"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// genericFimea is a Fimea file with no ATC column: Metforem 500 mg and a
// generic of it share substitution group 7001; Panadol is in another.
const genericFimea = "SUBSTITUUTIORYHMA;VNRNRO;PAKKAUSKOKO;RESEPTISTATUS;LAAKENIMI;VAHVUUS;LAAKEMUOTO\r\n" +
	"7001;990291;100 fol;R;Metforem;500 mg;tabletti\r\n" +
	"7001;123458;100 fol;R;Metformin Jäppilä;500 mg;tabletti\r\n" +
	"7002;990011;30 fol;K;Panadol;500 mg;tabletti\r\n"

// TestDuplicateGeneric: a paper prescription of a generic of one already
// in the journal (another product of the same substitution group, the same
// patient and prescriber, no ATC code to compare) is recorded with a
// warning that names both products and the group; one of an unrelated
// product is not. The groups come from a real catalogue file, and each
// record stores its medicine's group.
func TestDuplicateGeneric(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	dir := t.TempDir()
	b, err := charmap.ISO8859_1.NewEncoder().String(genericFimea)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "substituutio.txt")
	if err := os.WriteFile(src, []byte(b), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, catalogue.FileName)
	if _, err := catalogue.ImportFimea(ctx, path, src, catalogue.FimeaOptions{}); err != nil {
		t.Fatal(err)
	}
	cat, err := catalogue.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	paper := func(vnr string) rx.Prescription {
		t.Helper()
		m, err := cat.Product(ctx, vnr)
		if err != nil {
			t.Fatal(err)
		}
		p := f.paper(t, "metforem-500mg-tabl")
		p.Medicine = m
		return p
	}

	first, err := f.svc.Paper(ctx, pharmacist, paper("990291"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var stored rx.Prescription
	if err := json.Unmarshal(first.Record.Body, &stored); err != nil || stored.Medicine.SubstitutionGroup != "7001" || stored.Medicine.ATC != "" {
		t.Fatalf("the stored medicine: %+v, %v", stored.Medicine, err)
	}

	rc, err := f.svc.Paper(ctx, pharmacist, paper("123458"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := duplicateWarning(rc)
	if d == nil {
		t.Fatalf("the generic is not warned of: %+v", rc.Decisions)
	}
	for _, want := range []string{"Metforem prescribed by", first.Record.ID, "Metformin Jäppilä is in its substitution group (7001)", "(RX-DUP-JOURNAL)."} {
		if !strings.Contains(d.Message, want) {
			t.Errorf("the warning does not say %q: %s", want, d.Message)
		}
	}

	rc, err = f.svc.Paper(ctx, pharmacist, paper("990011"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := duplicateWarning(rc); d != nil {
		t.Errorf("an unrelated product is warned of: %s", d.Message)
	}
}
