package catalogue

import (
	"context"
	"strings"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Pick answers the counter's medicine picker (issue 24) as the pharmacist
// types: at most n products, each with all its packages, for
//   - digits: a package number (VNR) or its start, as Find;
//   - text: the start of a trade name, as Find, whole ("Panadol Forte");
//   - several words: the first the start of a trade name, the others found
//     in the strength or the form ("burana 400");
//   - one word of three letters or more: after the names, the products
//     whose active substance or ATC code starts with it ("metf" finds
//     Metforem by name, then Glucophage by metformin; "A10BA").
//
// The name and VNR searches use the catalogue's indexes. The substance
// and ATC search reads the whole table (BenchmarkPick: about a millisecond
// at 15,000 packages), so it runs only for three letters or more and when
// the names leave room on the page.
func (c *Catalogue) Pick(ctx context.Context, query string, n int) ([]rx.Medicine, error) {
	q := strings.TrimSpace(query)
	if q == "" || n <= 0 {
		return nil, nil
	}
	out, err := c.Find(ctx, q, n)
	if err != nil || isDigits(q) || len(out) >= n {
		return out, err
	}
	words := strings.Fields(strings.ToLower(q))
	if len(words) > 1 {
		more, err := c.Find(ctx, words[0], 4*n)
		if err != nil {
			return nil, err
		}
		for _, m := range more {
			if len(out) < n && hasWords(m, words[1:]) && !holds(out, m) {
				out = append(out, m)
			}
		}
		return out, nil
	}
	if len([]rune(q)) < 3 {
		return out, nil
	}
	pkgs, err := c.bySubstanceOrATC(ctx, q, 4*n)
	if err != nil {
		return nil, err
	}
	for _, p := range pkgs {
		if len(out) == n {
			break
		}
		if holds(out, p.Medicine()) {
			continue
		}
		m, err := c.product(ctx, p)
		if err != nil {
			return nil, err
		}
		if !holds(out, m) {
			out = append(out, m)
		}
	}
	return out, nil
}

// hasWords reports whether every word is in m's strength or form, or is
// the start of a word of its name.
func hasWords(m rx.Medicine, words []string) bool {
	hay := strings.ToLower(m.Name + " " + m.Strength + " " + m.Form)
	for _, w := range words {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

// holds reports whether ms has a product with a package of m.
func holds(ms []rx.Medicine, m rx.Medicine) bool {
	for _, o := range ms {
		for _, a := range o.Packages {
			for _, b := range m.Packages {
				if a.VNR == b.VNR {
					return true
				}
			}
		}
	}
	return false
}

// bySubstanceOrATC returns the first n packages, by name then VNR, whose
// active substance or ATC code starts with prefix, ignoring case (SQLite's
// LIKE folds ASCII only, which is what substances and ATC codes are
// written in).
func (c *Catalogue) bySubstanceOrATC(ctx context.Context, prefix string, n int) ([]Package, error) {
	if err := c.acquire(ctx); err != nil {
		return nil, err
	}
	defer c.mu.RUnlock()
	like := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(prefix) + "%"
	return collect(c.db.QueryContext(ctx, `SELECT `+packageColumns+` FROM packages
		WHERE substance LIKE ?1 ESCAPE '\' OR atc LIKE ?1 ESCAPE '\' ORDER BY name_key, vnr LIMIT ?2`, like, n))
}
