package catalogue

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tiski-rx/tiski/pkg/rx"
)

func TestPick(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	pkgs := []Package{
		{VNR: "123456", Name: "Burana", Substance: "ibuprofeeni", ATC: "M01AE01", Strength: "400 mg", Form: "tabletti", Size: 30},
		{VNR: "123457", Name: "Burana", Substance: "ibuprofeeni", ATC: "M01AE01", Strength: "400 mg", Form: "tabletti", Size: 10},
		{VNR: "123458", Name: "Burana", Substance: "ibuprofeeni", ATC: "M01AE01", Strength: "600 mg", Form: "tabletti", Size: 30},
		{VNR: "223456", Name: "Ibuxin", Substance: "ibuprofeeni", ATC: "M01AE01", Strength: "400 mg", Form: "tabletti", Size: 30},
		{VNR: "323456", Name: "Panadol Forte", Substance: "parasetamoli", ATC: "N02BE01", Strength: "1 g", Form: "tabletti", Size: 20},
		{VNR: "423456", Name: "Ibu_x%", Substance: "muu", ATC: "X00", Strength: "1 mg", Form: "tabletti", Size: 1},
	}
	if _, err := Replace(ctx, path, Info{Source: SourceFimea, Version: "t"}, pkgs); err != nil {
		t.Fatal(err)
	}
	c, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	products := func(ms []rx.Medicine) string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Name+" "+m.Strength)
		}
		return strings.Join(out, ", ")
	}
	for _, tc := range []struct {
		name, query string
		n           int
		want        string
	}{
		{"a name's start", "bur", 10, "Burana 400 mg, Burana 600 mg"},
		{"a name of two words", "panadol f", 10, "Panadol Forte 1 g"},
		{"a name and a strength", "burana 600", 10, "Burana 600 mg"},
		{"the names first, then the substance", "ibu", 10, "Ibu_x% 1 mg, Ibuxin 400 mg, Burana 400 mg, Burana 600 mg"},
		{"the substance", "ibuprof", 10, "Burana 400 mg, Burana 600 mg, Ibuxin 400 mg"},
		{"the ATC code", "m01ae", 10, "Burana 400 mg, Burana 600 mg, Ibuxin 400 mg"},
		{"a VNR's start", "1234", 10, "Burana 400 mg, Burana 600 mg"},
		{"a whole VNR", "123458", 10, "Burana 600 mg"},
		{"two letters search names only", "pa", 10, "Panadol Forte 1 g"},
		{"LIKE's wildcards are letters", "ibu_x", 10, "Ibu_x% 1 mg"},
		{"at most n", "ibuprof", 2, "Burana 400 mg, Burana 600 mg"},
		{"nothing", "zzz", 10, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Pick(ctx, tc.query, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if products(got) != tc.want {
				t.Fatalf("Pick(%q, %d) = %s, want %s", tc.query, tc.n, products(got), tc.want)
			}
		})
	}
	none, err := Open(ctx, filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer none.Close()
	if _, err := none.Pick(ctx, "bur", 10); err != ErrNoCatalogue {
		t.Fatalf("Pick with no catalogue: %v, want ErrNoCatalogue", err)
	}
}
