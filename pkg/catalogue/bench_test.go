package catalogue

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// realistic makes n packages with names spread like a real catalogue's:
// a few hundred trade names, each in several strengths and packs, so a
// short prefix matches many packages.
func realistic(n int) []Package {
	syll := []string{"ka", "lo", "mi", "ra", "se", "to", "vi", "nu", "pe", "dä", "sö", "ly"}
	ps := make([]Package, n)
	for i := range ps {
		trade := i / 24 // 24 packages per trade name
		name := strings.ToUpper(syll[trade%12][:1]) + syll[trade%12][1:] + syll[(trade/12)%12] + syll[(trade/144)%12] + "n"
		ps[i] = Package{VNR: fmt.Sprintf("%06d", 10000+i*37%900000), Name: name,
			Strength: fmt.Sprintf("%d mg", 5*(1+i%6)), PackSize: fmt.Sprintf("%d fol", 10*(1+i%4)),
			Form: "tabletti", ATC: "N02BE01", Prescription: "R", SubstitutionGroup: fmt.Sprint(trade)}
	}
	return ps
}

func BenchmarkImport15000(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), FileName)
	ps := realistic(15000)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Replace(ctx, path, Info{Source: SourceFimea, Version: "bench"}, ps); err != nil {
			b.Fatal(err)
		}
	}
}

func benchCatalogue(b *testing.B) (*Catalogue, []Package) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), FileName)
	ps := realistic(15000)
	if _, err := Replace(ctx, path, Info{Source: SourceFimea, Version: "bench"}, ps); err != nil {
		b.Fatal(err)
	}
	c, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c, ps
}

func BenchmarkByVNR(b *testing.B) {
	ctx := context.Background()
	c, ps := benchCatalogue(b)
	i := 0
	for b.Loop() {
		want := ps[i*7919%len(ps)]
		if p, err := c.ByVNR(ctx, want.VNR); err != nil || p.VNR != want.VNR {
			b.Fatalf("ByVNR(%s) = %+v, %v", want.VNR, p, err)
		}
		i++
	}
}

// BenchmarkSearchPrefix20 types a name one letter at a time, as at the
// picker, and takes the first 20 hits at each letter.
func BenchmarkSearchPrefix20(b *testing.B) {
	ctx := context.Background()
	c, _ := benchCatalogue(b)
	typed := []string{"k", "ka", "kal", "kalo", "s", "sö", "söm", "d", "dä", "däk"}
	i := 0
	for b.Loop() {
		ps, err := c.Search(ctx, typed[i%len(typed)], 20)
		if err != nil || len(ps) == 0 {
			b.Fatalf("Search(%q) = %d, %v", typed[i%len(typed)], len(ps), err)
		}
		i++
	}
}

// BenchmarkImportFimea15000 is the import: Fimea's ISO 8859-1 file
// of 15,000 packages read, decoded, written, checked and swapped in.
func BenchmarkImportFimea15000(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString("SUBSTITUUTIORYHMA;VNRNRO;PAKKAUSKOKO;RESEPTISTATUS;LAAKENIMI;VAHVUUS;LAAKEMUOTO;ATCKOODI\r\n")
	for _, p := range realistic(15000) {
		fmt.Fprintf(&sb, "%s;%s;%s;%s;%s;%s;%s;%s\r\n", p.SubstitutionGroup, p.VNR, p.PackSize, p.Prescription, p.Name, p.Strength, p.Form, p.ATC)
	}
	src := writeLatin1(b, dir, "substituutio.txt", sb.String())
	path := filepath.Join(dir, FileName)
	for b.Loop() {
		info, err := ImportFimea(ctx, path, src, FimeaOptions{})
		if err != nil || info.Count != 15000 {
			b.Fatal(info.Count, err)
		}
	}
}

// BenchmarkPick is the picker's search as the pharmacist types, over
// 15,000 packages, a page of 21: a short name prefix (indexed), a name
// that leaves room for the substance and ATC search (a whole-table read),
// and two words.
func BenchmarkPick(b *testing.B) {
	ctx := context.Background()
	c, _ := benchCatalogue(b)
	for _, q := range []string{"ka", "kalo", "N02BE", "kalo 10"} {
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.Pick(ctx, q, 21); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
