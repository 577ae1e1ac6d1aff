package catalogue

import (
	"context"
	"strconv"
	"strings"
	"unicode"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// The counter, the forms, tiski record and the policy work on rx.Medicine:
// a product (one name, strength and form) with its packages. The catalogue
// holds packages, one row per VNR; a product is the packages that share
// the name, the strength and the form.

// Medicine returns the package as a product of one package. Product gives
// the product with all its packages.
func (p Package) Medicine() rx.Medicine {
	return medicineOf(p, []rx.Package{{VNR: p.VNR, Size: p.Size}})
}

func medicineOf(p Package, packs []rx.Package) rx.Medicine {
	return rx.Medicine{
		ID:                "vnr-" + packs[0].VNR,
		Name:              p.Name,
		Substance:         p.Substance,
		ATC:               p.ATC,
		Strength:          p.Strength,
		Form:              p.Form,
		Unit:              p.Unit,
		Narcotic:          ClassGiven(p.NarcoticClass),
		PKV:               ClassGiven(p.PKVClass),
		SubstitutionGroup: p.SubstitutionGroup,
		Packages:          packs,
	}
}

// ClassGiven reports whether a narcotic or PKV class as the source writes
// it puts the medicine in the class: any value but an empty one, a dash, a
// zero or a no.
func ClassGiven(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "-", "0", "ei", "nej", "no", "false", "n":
		return false
	}
	return true
}

// Product returns the product of the package vnr, with every package of
// it in the catalogue, smallest first, or an rx.ENOTFOUND error.
func (c *Catalogue) Product(ctx context.Context, vnr string) (rx.Medicine, error) {
	p, err := c.ByVNR(ctx, vnr)
	if err != nil {
		return rx.Medicine{}, err
	}
	return c.product(ctx, p)
}

// product gathers the packages that share p's name, strength and form.
func (c *Catalogue) product(ctx context.Context, p Package) (rx.Medicine, error) {
	if err := c.acquire(ctx); err != nil {
		return rx.Medicine{}, err
	}
	defer c.mu.RUnlock()
	rows, err := c.db.QueryContext(ctx, `SELECT vnr, size FROM packages
		WHERE name_key = ? AND strength = ? AND form = ? ORDER BY size, vnr`, nameKey(p.Name), p.Strength, p.Form)
	if err != nil {
		return rx.Medicine{}, err
	}
	defer rows.Close()
	var packs []rx.Package
	for rows.Next() {
		var pk rx.Package
		if err := rows.Scan(&pk.VNR, &pk.Size); err != nil {
			return rx.Medicine{}, err
		}
		packs = append(packs, pk)
	}
	if err := rows.Err(); err != nil {
		return rx.Medicine{}, err
	}
	if len(packs) == 0 {
		// The file changed between the two queries; the package alone is
		// still a whole answer from one file.
		packs = []rx.Package{{VNR: p.VNR, Size: p.Size}}
	}
	return medicineOf(p, packs), nil
}

// Find returns at most n products for what a pharmacist types or a scanner
// sends: digits are a package number (VNR) or its start, anything else the
// start of a trade name. Each product comes with all its packages.
func (c *Catalogue) Find(ctx context.Context, query string, n int) ([]rx.Medicine, error) {
	q := strings.TrimSpace(query)
	if q == "" || n <= 0 {
		return nil, nil
	}
	var pkgs []Package
	var err error
	if isDigits(q) && len(q) <= 6 {
		pkgs, err = c.byVNRPrefix(ctx, q, n)
	} else {
		// A product has few packages; n products need at most a few
		// times n rows.
		pkgs, err = c.Search(ctx, q, 4*n)
	}
	if err != nil {
		return nil, err
	}
	var out []rx.Medicine
	seen := map[string]bool{}
	for _, p := range pkgs {
		k := nameKey(p.Name) + "\x00" + p.Strength + "\x00" + p.Form
		if seen[k] {
			continue
		}
		seen[k] = true
		m, err := c.product(ctx, p)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
		if len(out) == n {
			break
		}
	}
	return out, nil
}

// byVNRPrefix returns the first n packages whose number starts with the
// digits prefix, by number.
func (c *Catalogue) byVNRPrefix(ctx context.Context, prefix string, n int) ([]Package, error) {
	if err := c.acquire(ctx); err != nil {
		return nil, err
	}
	defer c.mu.RUnlock()
	return collect(c.db.QueryContext(ctx, `SELECT `+packageColumns+` FROM packages
		WHERE vnr >= ? AND vnr < ? ORDER BY vnr LIMIT ?`, prefix, prefixEnd(prefix), n))
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// FromFixtures returns the fixtures' medicines as catalogue packages, for
// the catalogue of tiski demo and of training (SourceFixtures).
func FromFixtures(meds []rx.Medicine) []Package {
	var out []Package
	for _, m := range meds {
		for _, pk := range m.Packages {
			p := Package{
				VNR: pk.VNR, Name: m.Name, Substance: m.Substance, Strength: m.Strength, Form: m.Form,
				PackSize: strconv.Itoa(pk.Size) + " " + m.Unit, Size: pk.Size, Unit: m.Unit,
				ATC: m.ATC, Prescription: "R", SubstitutionGroup: m.SubstitutionGroup,
			}
			if m.Narcotic {
				p.NarcoticClass = "narcotic"
			}
			if m.PKV {
				p.PKVClass = "pkv"
			}
			out = append(out, p)
		}
	}
	return out
}

// sizeAndUnit reads a pack size as Fimea writes it ("30 fol", "100 ml",
// "5 x 3 ml", "28 kpl") into the units in the pack and their unit: the
// numbers multiply ("5 x 3 ml" is 15 ml), and the unit is the text's own
// when it is a measure (ml, g), else the form's ("fol", a blister, holds
// tablets or capsules). Size 0: the text gives no number.
func sizeAndUnit(text, form string) (int, string) {
	text = strings.ToLower(strings.ReplaceAll(text, ",", "."))
	size, unit := 0, ""
	for _, f := range strings.FieldsFunc(text, func(r rune) bool {
		return unicode.IsSpace(r) || r == '*' || r == '×' || r == 'x'
	}) {
		num, rest := leadingNumber(f)
		if num > 0 {
			size = max(size, 1) * num
		}
		if rest != "" {
			unit = rest
		}
	}
	switch unit {
	case "ml", "g":
		return size, unit
	}
	if u := unitOfForm(form); u != "pcs" {
		return size, u
	}
	return size, unitOfForm(unit) // "100 tabl" with no form
}

// leadingNumber splits "100ml" into 100 and "ml"; a decimal counts its
// whole part.
func leadingNumber(s string) (int, string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, _ := strconv.Atoi(s[:i])
	rest := s[i:]
	if i > 0 && strings.HasPrefix(rest, ".") {
		rest = strings.TrimLeft(rest[1:], "0123456789")
	}
	return n, rest
}

// unitOfForm names the unit that a pack of a pharmaceutical form is counted
// in, from the form's Finnish or English name.
func unitOfForm(form string) string {
	f := strings.ToLower(form)
	for _, u := range []struct {
		words []string
		unit  string
	}{
		{[]string{"tabl", "tablet"}, "tablet"},
		{[]string{"kaps", "capsule"}, "capsule"},
		{[]string{"laast", "patch"}, "patch"},
		{[]string{"inhal", "suihke", "spray", "dose", "annos"}, "dose"},
		{[]string{"perä", "supp"}, "suppository"},
		{[]string{"liuos", "oraali", "solution", "suspension", "syrup", "sirup"}, "ml"},
		{[]string{"voide", "geeli", "cream", "gel", "ointment"}, "g"},
	} {
		for _, w := range u.words {
			if strings.Contains(f, w) {
				return u.unit
			}
		}
	}
	return "pcs"
}
