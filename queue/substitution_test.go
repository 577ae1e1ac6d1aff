package queue_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/tiski-rx/tiski/pkg/catalogue"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
)

// substitutionFimea is a Fimea file, with no ATC column, in which Cardace
// 5 mg (the fixtures' 990441 and 990442, the medicine of the
// e-prescription EPC-DUP) and a generic of it share substitution group
// 5001, and Panadol (990011) is in a group of its own.
const substitutionFimea = "SUBSTITUUTIORYHMA;VNRNRO;PAKKAUSKOKO;RESEPTISTATUS;LAAKENIMI;VAHVUUS;LAAKEMUOTO\r\n" +
	"5001;990441;30 fol;R;Cardace;5 mg;tabletti\r\n" +
	"5001;990442;100 fol;R;Cardace;5 mg;tabletti\r\n" +
	"5001;123457;100 fol;R;Ramipril Jäppilä;5 mg;tabletti\r\n" +
	"6001;990011;30 fol;K;Panadol;500 mg;tabletti\r\n"

// substitutionCatalogue imports substitutionFimea into a catalogue file of
// its own and opens it.
func substitutionCatalogue(t *testing.T) *catalogue.Catalogue {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	b, err := charmap.ISO8859_1.NewEncoder().String(substitutionFimea)
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
	c, err := catalogue.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestPossibleDuplicateGeneric: a paper prescription of a generic of an
// e-prescription (another product, the same substitution group, and no ATC
// code to compare, as Fimea's file gives none) is held at upload as a
// possible duplicate of it; the e-prescription's Medication carries no
// group, so the group comes from the local catalogue by its VNR. A paper
// prescription of an unrelated product, same patient and prescriber, is
// uploaded.
func TestPossibleDuplicateGeneric(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cat := substitutionCatalogue(t)
	product := func(vnr string) rx.Medicine {
		m, err := cat.Product(e.ctx, vnr)
		if err != nil {
			t.Fatal(err)
		}
		if m.ATC != "" || m.SubstitutionGroup == "" {
			t.Fatalf("%s from the catalogue: ATC %q, group %q; the test needs no ATC and a group", vnr, m.ATC, m.SubstitutionGroup)
		}
		return m
	}
	paper := func(m rx.Medicine) journal.Record {
		rc, err := e.svc.Paper(e.ctx, pharmacist, rx.Prescription{
			Patient: aino, Prescriber: physician, Medicine: m, Issued: time.Now().AddDate(0, 0, -1), Dosage: "1 tablet a day",
			Quantity: 30, Reason: "the health centre's system was down",
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return rc.Record
	}
	generic := paper(product("123457"))
	unrelated := paper(product("990011"))

	cfg := fastConfig()
	cfg.SubstitutionGroup = func(ctx context.Context, vnr string) (string, error) {
		p, err := cat.ByVNR(ctx, vnr)
		if rx.ErrorCode(err) == rx.ENOTFOUND {
			return "", nil
		}
		return p.SubstitutionGroup, err
	}
	drain(t, e.worker(e.client("", 0), cfg), 20*time.Second)
	o := e.wantState(generic, journal.OutboxConflict, queue.PossibleDuplicate)
	c, _ := queue.EntryConflict(o)
	for _, want := range []string{"EPC-DUP", "substitution group 5001", "Ramipril Jäppilä"} {
		if !strings.Contains(c.Detail, want) {
			t.Errorf("the conflict's detail does not say %q: %s", want, c.Detail)
		}
	}
	if e.upstream(generic) != 0 {
		t.Fatal("the generic's prescription was created upstream")
	}
	e.wantState(unrelated, journal.OutboxDone, "")
	if e.upstream(unrelated) != 1 {
		t.Fatal("the unrelated prescription is not upstream")
	}
}

// TestPossibleDuplicateGenericNeedsTheGroup: the control. A paper
// prescription with no ATC code to compare and no group stored, with no
// catalogue to look one up, is not caught: the group is what catches the
// generic above.
func TestPossibleDuplicateGenericNeedsTheGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cat := substitutionCatalogue(t)
	m, err := cat.Product(e.ctx, "990441")
	if err != nil {
		t.Fatal(err)
	}
	m.SubstitutionGroup = "" // as a record made before the catalogue stored it
	rc, err := e.svc.Paper(e.ctx, pharmacist, rx.Prescription{
		Patient: aino, Prescriber: physician, Medicine: m, Issued: time.Now().AddDate(0, 0, -1), Dosage: "1 tablet a day",
		Quantity: 30, Reason: "the health centre's system was down",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	drain(t, e.worker(e.client("", 0), fastConfig()), 20*time.Second)
	e.wantState(rc.Record, journal.OutboxDone, "")
}
