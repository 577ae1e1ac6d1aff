package catalogue

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// writeLatin1 writes text to a file in ISO 8859-1, as Fimea publishes it.
func writeLatin1(t testing.TB, dir, name, text string) string {
	t.Helper()
	b, err := charmap.ISO8859_1.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(b), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fimeaReordered has Fimea's columns in another order, with two extra
// ones, Windows line ends and a blank line at the end.
const fimeaReordered = "LAAKENIMI;VNRNRO;MYYNTILUVAN HALTIJA;VAHVUUS;SUBSTITUUTIORYHMA;PAKKAUSKOKO;LAAKEMUOTO;RESEPTISTATUS;ATCKOODI;HUOM\r\n" +
	"Ärtyvä Öljy;12345;Öljytehdas Oy;10 mg/ml;1001;100 ml;oraaliliuos;R;A03FA01;\r\n" +
	"Burana;045678;Orion Oyj;400 mg;2002;30 fol;tabletti, kalvopäällysteinen;K;M01AE01;x\r\n" +
	"Särkylääke Åbo;456789;Apotek Ab;500 mg;2002;20 kpl;tabletti;K;M01AE01;\r\n" +
	"\r\n"

func TestImportFimeaKeepsNames(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := writeLatin1(t, dir, "substituutio_20261201.txt", fimeaReordered)
	if raw, _ := os.ReadFile(src); !bytes.Contains(raw, []byte{0xc4, 'r', 't', 'y', 'v', 0xe4}) {
		t.Fatalf("the test file is not ISO 8859-1: %q", raw[:120])
	}
	path := filepath.Join(dir, FileName)
	date := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	now := time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC)
	info, err := ImportFimea(ctx, path, src, FimeaOptions{Date: date, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if info.Count != 3 || info.Source != SourceFimea || info.Version != "substituutio_20261201.txt" {
		t.Fatalf("info %+v", info)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("catalogue file: %v %v", fi.Mode(), err)
	}
	c, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := c.Info(ctx)
	if err != nil || got.Count != 3 || !got.Date.Equal(date) || !got.ImportedAt.Equal(now) {
		t.Fatalf("Info = %+v, %v", got, err)
	}
	p, err := c.ByVNR(ctx, "012345") // the file dropped the leading zero
	want := Package{VNR: "012345", Name: "Ärtyvä Öljy", Strength: "10 mg/ml", Form: "oraaliliuos", PackSize: "100 ml", Size: 100, Unit: "ml",
		ATC: "A03FA01", Prescription: "R", SubstitutionGroup: "1001"}
	if err != nil || p != want {
		t.Fatalf("ByVNR = %+v, %v; want %+v", p, err, want)
	}
	if p, err := c.ByVNR(ctx, "45678"); err != nil || p.Name != "Burana" || p.Form != "tabletti, kalvopäällysteinen" {
		t.Fatalf("ByVNR(45678) = %+v, %v", p, err)
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"ärt", []string{"012345"}},
		{"ÄRTYVÄ ö", []string{"012345"}},
		{"s", []string{"456789"}},
		{"särkylääke å", []string{"456789"}},
		{"b", []string{"045678"}},
		{"x", nil},
		{"", nil},
	} {
		t.Run("search "+tc.prefix, func(t *testing.T) {
			ps, err := c.Search(ctx, tc.prefix, 20)
			if err != nil {
				t.Fatal(err)
			}
			var vnrs []string
			for _, p := range ps {
				vnrs = append(vnrs, p.VNR)
			}
			if fmt.Sprint(vnrs) != fmt.Sprint(tc.want) {
				t.Fatalf("Search(%q) = %v, want %v", tc.prefix, vnrs, tc.want)
			}
		})
	}
	if _, err := c.ByVNR(ctx, "999999"); rx.ErrorCode(err) != rx.ENOTFOUND {
		t.Fatalf("ByVNR(999999) = %v", err)
	}
	if _, err := c.ByVNR(ctx, "12a"); rx.ErrorCode(err) != rx.EINVALID {
		t.Fatalf("ByVNR(12a) = %v", err)
	}
}

func TestBadFileKeepsTheOldCatalogue(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	good := writeLatin1(t, dir, "good.txt", fimeaReordered)
	if _, err := ImportFimea(ctx, path, good, FimeaOptions{}); err != nil {
		t.Fatal(err)
	}
	c, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	header := "SUBSTITUUTIORYHMA;VNRNRO;PAKKAUSKOKO;RESEPTISTATUS;LAAKENIMI;VAHVUUS;LAAKEMUOTO\r\n"
	row := func(vnr, name string) string { return "3003;" + vnr + ";28 fol;R;" + name + ";5 mg;tabletti\r\n" }
	for _, tc := range []struct {
		name, text string
		want       []string // in the error's message
	}{
		{"missing LAAKENIMI", strings.Replace(header, "LAAKENIMI;", "NIMI;", 1) + "3003;111111;28 fol;R;Uusi;5 mg;tabletti\r\n",
			[]string{"LAAKENIMI", "trade name", "NIMI"}},
		{"cut off mid-line", header + row("111111", "Uusilääke") + row("222222", "Toinen") + "3003;333333;28 fo",
			[]string{"line 4", "cut off"}},
		{"a short line", header + row("111111", "Uusi") + "3003;222222;R\r\n" + row("333333", "Kolmas"),
			[]string{"Line 3", "3 columns", "7"}},
		{"a package twice", header + row("111111", "Uusi") + row("111111", "Uusi"), []string{"Lines 2 and 3", "111111"}},
		{"not a VNR", header + row("11x111", "Uusi"), []string{"Line 2", `"11x111"`}},
		{"no name", header + row("111111", ""), []string{"Line 2", "LAAKENIMI"}},
		{"header only", header, []string{"no packages"}},
		{"empty", "", []string{"empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := writeLatin1(t, t.TempDir(), "bad.txt", tc.text)
			_, err := ImportFimea(ctx, path, src, FimeaOptions{})
			if err == nil || rx.ErrorCode(err) != rx.EINVALID {
				t.Fatalf("ImportFimea = %v, want an %s error", err, rx.EINVALID)
			}
			for _, w := range append(tc.want, "The catalogue was not changed.") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			info, err := c.Info(ctx)
			if err != nil || info.Version != "good.txt" || info.Count != 3 {
				t.Fatalf("after the bad import, Info = %+v, %v", info, err)
			}
			if p, err := c.ByVNR(ctx, "012345"); err != nil || p.Name != "Ärtyvä Öljy" {
				t.Fatalf("after the bad import, ByVNR = %+v, %v", p, err)
			}
		})
	}
	assertNoLeftovers(t, dir)
}

// A failure while the new file is built, past the reading of the source,
// leaves the old file and no new one behind.
func TestReplaceFailureKeepsTheOldCatalogue(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if _, err := Replace(ctx, path, Info{Source: SourceFHIR, Version: "v1"}, []Package{{VNR: "111111", Name: "Yksi"}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		pkgs []Package
		want string
	}{
		{"twice", []Package{{VNR: "222222", Name: "Kaksi"}, {VNR: "222222", Name: "Kaksi"}}, "twice"},
		{"no name", []Package{{VNR: "222222", Name: "Kaksi"}, {VNR: "333333", Name: " "}}, "no name"},
		{"bad vnr", []Package{{VNR: "1234567", Name: "Liian pitkä"}}, "not a package number"},
		{"none", nil, "no packages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Replace(ctx, path, Info{Source: SourceFHIR, Version: "v2"}, tc.pkgs)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasSuffix(err.Error(), "The catalogue was not changed.") ||
				rx.ErrorCode(err) != rx.EINVALID {
				t.Fatalf("Replace = %v, want an error saying %q", err, tc.want)
			}
			c, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if info, err := c.Info(ctx); err != nil || info.Version != "v1" {
				t.Fatalf("Info = %+v, %v", info, err)
			}
		})
	}
	assertNoLeftovers(t, dir)
}

func assertNoLeftovers(t *testing.T, dir string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if strings.HasPrefix(e.Name(), FileName) && e.Name() != FileName {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestNoCatalogueYet(t *testing.T) {
	ctx := context.Background()
	c, err := Open(ctx, filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Info(ctx); rx.ErrorCode(err) != rx.ENOTFOUND {
		t.Fatalf("Info = %v", err)
	}
	if _, err := c.ByVNR(ctx, "123456"); rx.ErrorCode(err) != rx.ENOTFOUND {
		t.Fatalf("ByVNR = %v", err)
	}
	// The reader picks up the first import without being reopened.
	if _, err := Replace(ctx, c.Path(), Info{Source: SourceFHIR, Version: "v1"}, []Package{{VNR: "123456", Name: "Eka"}}); err != nil {
		t.Fatal(err)
	}
	if p, err := c.ByVNR(ctx, "123456"); err != nil || p.Name != "Eka" {
		t.Fatalf("ByVNR = %+v, %v", p, err)
	}
}

func TestNotACatalogue(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, tc := range []struct{ name, content string }{
		{"text", "SUBSTITUUTIORYHMA;VNRNRO\n"},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".db")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Open(ctx, path); rx.ErrorCode(err) != rx.ECORRUPT {
				t.Fatalf("Open = %v, want %s", err, rx.ECORRUPT)
			}
		})
	}
}

// generation makes n packages whose every name carries gen, so an answer
// that mixed two imports would show it.
func generation(gen string, n int) []Package {
	ps := make([]Package, n)
	for i := range ps {
		ps[i] = Package{VNR: fmt.Sprintf("%06d", 100000+i), Name: fmt.Sprintf("Alfa %04d %s", i, gen), Strength: gen}
	}
	return ps
}

func TestReaderAcrossImportsSeesOneWhole(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	sizes := map[string]int{"A": 300, "B": 500}
	if _, err := Replace(ctx, path, Info{Source: SourceFHIR, Version: "A"}, generation("A", sizes["A"])); err != nil {
		t.Fatal(err)
	}
	c, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var stop atomic.Bool
	var seen sync.Map
	var wg sync.WaitGroup
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				ps, err := c.Search(ctx, "alfa", 400)
				if err != nil {
					t.Error(err)
					return
				}
				gen := ps[0].Strength
				if len(ps) != min(400, sizes[gen]) {
					t.Errorf("generation %s: %d hits", gen, len(ps))
					return
				}
				for _, p := range ps {
					if p.Strength != gen || !strings.HasSuffix(p.Name, " "+gen) {
						t.Errorf("one answer mixes imports: %s and %+v", gen, p)
						return
					}
				}
				seen.Store(gen, true)
				p, err := c.ByVNR(ctx, "100450")
				switch {
				case err == nil && p.Strength != "B":
					t.Errorf("package 100450 of generation %s", p.Strength)
				case err != nil && rx.ErrorCode(err) != rx.ENOTFOUND:
					t.Error(err)
				}
			}
		}()
	}
	for i := 0; i < 10; i++ {
		gen := []string{"B", "A"}[i%2]
		if _, err := Replace(ctx, path, Info{Source: SourceFHIR, Version: gen}, generation(gen, sizes[gen])); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if _, ok := seen.Load("B"); !ok {
		t.Error("the readers never saw the second import")
	}
	if info, err := c.Info(ctx); err != nil || info.Version != "A" || info.Count != 300 {
		t.Fatalf("after the imports, Info = %+v, %v", info, err)
	}
}

func TestNextDue(t *testing.T) {
	hel, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		hel = time.FixedZone("EET", 2*3600)
	}
	for _, tc := range []struct{ at, want string }{
		{"2026-12-01 00:00", "2026-12-15"},
		{"2026-12-07 21:05", "2026-12-15"},
		{"2026-12-14 23:59", "2026-12-15"},
		{"2026-12-15 00:00", "2027-01-01"},
		{"2026-12-31 12:00", "2027-01-01"},
		{"2027-02-20 08:00", "2027-03-01"},
	} {
		at, _ := time.ParseInLocation("2006-01-02 15:04", tc.at, hel)
		if got := NextDue(at); got.Format("2006-01-02 15:04") != tc.want+" 00:00" || got.Location() != hel {
			t.Errorf("NextDue(%s) = %s, want %s", tc.at, got, tc.want)
		}
	}
}

func TestReadFimeaHeaderNames(t *testing.T) {
	// Header names as a spreadsheet may write them: quoted, mixed case,
	// with Ä, and with the optional classes.
	text := `"vnrnro";"Lääkenimi";"Vahvuus";"Pakkauskoko";"Reseptistatus";"Substituutioryhmä";"Vaikuttava aine";"PKV";"Huumausaine"` + "\n" +
		`"000123";"Diapam";"5 mg";"100 tabl";"R";"77";"diatsepaami";"PKV";"II"` + "\n"
	latin1, err := charmap.ISO8859_1.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := ReadFimea(strings.NewReader(latin1))
	if err != nil {
		t.Fatal(err)
	}
	want := Package{VNR: "000123", Name: "Diapam", Strength: "5 mg", PackSize: "100 tabl", Size: 100, Unit: "tablet", Prescription: "R",
		SubstitutionGroup: "77", Substance: "diatsepaami", PKVClass: "PKV", NarcoticClass: "II"}
	if len(ps) != 1 || ps[0] != want {
		t.Fatalf("ReadFimea = %+v", ps)
	}
}

// A new file left by an import that crashed is removed by the next import;
// a young one, which may be another import's still being built, is not.
func TestReplaceRemovesAbandonedFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	now := time.Now()
	old, young := path+".new-1111", path+".new-2222"
	for _, name := range []string{old, young} {
		if err := os.WriteFile(name, []byte("half a catalogue"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(old, now.Add(-2*time.Hour), now.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := Replace(ctx, path, Info{Source: SourceFHIR, Version: "v1", ImportedAt: now}, []Package{{VNR: "111111", Name: "Yksi"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the crashed import's file is still there: %v", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("another import's file was removed: %v", err)
	}
}

// A file a spreadsheet saved again as UTF-8, with or without a byte order
// mark, reads with the same names as Fimea's ISO 8859-1 one.
func TestReadFimeaUTF8(t *testing.T) {
	latin1, err := charmap.ISO8859_1.NewEncoder().String(fimeaReordered)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ReadFimea(strings.NewReader(latin1))
	if err != nil {
		t.Fatal(err)
	}
	if want[0].Name != "Ärtyvä Öljy" || want[2].Name != "Särkylääke Åbo" {
		t.Fatalf("ISO 8859-1: %+v", want)
	}
	for name, text := range map[string]string{"utf-8": fimeaReordered, "utf-8 with BOM": "\ufeff" + fimeaReordered} {
		t.Run(name, func(t *testing.T) {
			got, err := ReadFimea(strings.NewReader(text))
			if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("ReadFimea = %+v, %v; want %+v", got, err, want)
			}
		})
	}
}
