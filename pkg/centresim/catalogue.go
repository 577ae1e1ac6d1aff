package centresim

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The catalogue of realistic size (issue 24): about 15,000 Medication
// packages generated from genSubstances beside the fixtures' medicines, so
// that a catalogue sync pages through what a pharmacy's really holds. The
// generation is deterministic: the same seed gives the same packages with
// the same package numbers on every run and machine (math/rand/v2's PCG is
// specified, unlike math/rand's default source).
//
// The numbers are made up, like the fixtures': six digits, never starting
// 99, which is the fixtures' range (990011–990552), so the two never
// collide, nor 98, where ChangeCatalogue adds packages.

// catalogueSeed is the generation's fixed seed. Changing it, the
// substances or the generation renumbers every generated package.
const catalogueSeed = 24

type genSubstance struct {
	stem      string // the trade-name stem of its generics
	substance string // the active substance, in Finnish
	atc       string
	rx        string // R prescription, K self-care
	class     string // narcotic, pkv or ""
	originals string // original brands, "|"-separated
	forms     string // "form code:strengths:packs;…"
}

type genForm struct {
	name string // Finnish, as Fimea's LAAKEMUOTO
	pack string // the pack size's unit as PAKKAUSKOKO writes it
}

// genPackage is one generated package, as the medication table holds it.
type genPackage struct {
	VNR, Name, Substance, ATC, Strength, Form string
	PackText                                  string // "30 fol", "100 ml", "5 x 3 ml"
	Size                                      int
	Unit                                      string
	Prescription, Group, Class                string
}

// generateCatalogue returns the generated packages, in a fixed order.
func generateCatalogue() []genPackage {
	rng := rand.New(rand.NewPCG(catalogueSeed, 0x7469736b69))
	used := map[int]bool{}
	vnr := func() string {
		for {
			n := 10000 + rng.IntN(970000) // 010000–979999: never 98xxxx (ChangeCatalogue adds there) nor 99xxxx (the fixtures)
			if !used[n] {
				used[n] = true
				return pad6(n)
			}
		}
	}
	var out []genPackage
	groups := 0
	for _, s := range genSubstances {
		originals := strings.Split(s.originals, "|")
		for _, spec := range strings.Split(s.forms, ";") {
			code, rest, _ := strings.Cut(spec, ":")
			strengthList, packList, _ := strings.Cut(rest, ":")
			form := genForms[code]
			strengths := splitStrengths(strengthList)
			packs := strings.Split(packList, ",")
			// Generics: fewer of self-care medicines and of narcotics,
			// many of the common prescription ones.
			most := 30
			if s.rx == "K" || s.class == "narcotic" {
				most = 5
			}
			generics := 3 + rng.IntN(most)
			makers := rng.Perm(len(genManufacturers))[:min(generics, len(genManufacturers))]
			brands := append([]string(nil), originals...)
			for _, m := range makers {
				brands = append(brands, s.stem+" "+genManufacturers[m])
			}
			// One substitution group per strength of the form: the
			// products that a pharmacy may hand out for one another.
			group := make([]string, len(strengths))
			for i := range strengths {
				groups++
				group[i] = strconv.Itoa(1000 + groups)
			}
			for bi, brand := range brands {
				for si, strength := range strengths {
					// An original has every strength; a generic most.
					if bi >= len(originals) && si > 0 && rng.IntN(4) == 0 {
						continue
					}
					for pi, pack := range packs {
						if pi > 0 && rng.IntN(4) == 0 {
							continue
						}
						number := vnr()
						text := packText(pack, form.pack)
						size, unit := packSize(text, form)
						out = append(out, genPackage{
							VNR: number, Name: brand, Substance: s.substance, ATC: s.atc, Strength: strength,
							Form: form.name, PackText: text, Size: size, Unit: unit,
							Prescription: s.rx, Group: group[si], Class: s.class,
						})
					}
				}
			}
		}
	}
	return out
}

func pad6(n int) string {
	s := strconv.Itoa(n)
	return strings.Repeat("0", 6-len(s)) + s
}

// splitStrengths splits "7,5 mg,15 mg" at the commas between strengths,
// keeping the decimal commas: a comma after a digit is a decimal one.
func splitStrengths(list string) []string {
	var out []string
	start := 0
	for i := 0; i < len(list); i++ {
		if list[i] == ',' && i > 0 && (list[i-1] < '0' || list[i-1] > '9') {
			out = append(out, strings.TrimSpace(list[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(list[start:]))
}

// packText writes a pack as Fimea's PAKKAUSKOKO: "30 fol", "100 ml",
// "5 x 3 ml", "10 x 1 ml", with a decimal comma.
func packText(pack, unit string) string {
	pack = strings.ReplaceAll(strings.ReplaceAll(pack, ".", ","), "x", " x ")
	if unit == "" || strings.HasSuffix(pack, " ml") {
		return pack
	}
	return pack + " " + unit
}

// packSize reads a pack's text into the units in it and their unit, as
// the client's catalogue does: "5 x 3 ml" is 15 ml, "30 fol" 30 tablets.
func packSize(text string, form genForm) (int, string) {
	size := 1
	for _, f := range strings.Fields(strings.ReplaceAll(text, ",", ".")) {
		n, err := strconv.ParseFloat(f, 64)
		if err == nil {
			size *= int(n)
		}
	}
	switch {
	case strings.HasSuffix(text, " ml"):
		return size, "ml"
	case strings.HasSuffix(text, " g"):
		return size, "g"
	case strings.HasSuffix(text, "annosta"):
		return size, "dose"
	}
	f := form.name
	switch {
	case strings.Contains(f, "laastari"):
		return size, "patch"
	case strings.Contains(f, "kapseli"):
		return size, "capsule"
	case strings.Contains(f, "tabletti"):
		return size, "tablet"
	case strings.Contains(f, "peräpuikko"):
		return size, "suppository"
	case strings.Contains(f, "ruisku"):
		return size, "syringe"
	}
	return size, "pcs"
}

// fixturePackText writes a fixture package's size as PAKKAUSKOKO would.
func fixturePackText(size int, unit string) string {
	switch unit {
	case "tablet", "capsule":
		return strconv.Itoa(size) + " fol"
	case "ml", "g":
		return strconv.Itoa(size) + " " + unit
	case "dose":
		return strconv.Itoa(size) + " annosta"
	}
	return strconv.Itoa(size) + " kpl"
}

// seedCatalogue adds the generated catalogue to a database that lacks it,
// in one transaction with one prepared statement, beside the fixtures'
// medicines: a product the fixtures hold (by name and strength) is left to
// them. A database that has it (a restart) is left as it is.
func (st *store) seedCatalogue(ctx context.Context) error {
	var n int
	if err := st.w.QueryRowContext(ctx, `SELECT count(*) FROM setting WHERE key = 'catalogue_seeded_at'`).Scan(&n); err != nil {
		return fmt.Errorf("seed catalogue: %w", err)
	}
	if n > 0 {
		return nil
	}
	now := st.now()
	stamp, ms := now.Format(lastUpdatedLayout), now.UnixMilli()
	return st.write(ctx, func(tx *sql.Tx) error {
		have := map[string]bool{}
		rows, err := tx.QueryContext(ctx, `SELECT name, strength FROM medication`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var name, strength string
			if err := rows.Scan(&name, &strength); err != nil {
				rows.Close()
				return err
			}
			have[strings.ToLower(name)+"\x00"+strength] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		pkgs := generatedCatalogue(func(name, strength string) bool { return have[strings.ToLower(name)+"\x00"+strength] })
		ins, err := tx.PrepareContext(ctx, `INSERT INTO medication (id, vnr, name, substance, atc, strength, form, unit, class,
				pack_size, pack_text, prescription, substitution_group, version, last_updated, updated_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, p := range pkgs {
			if _, err := ins.ExecContext(ctx, "med-"+p.VNR, p.VNR, p.Name, p.Substance, p.ATC, p.Strength, p.Form, p.Unit, p.Class,
				p.Size, p.PackText, p.Prescription, p.Group, stamp, ms); err != nil {
				return fmt.Errorf("seed catalogue: package %s: %w", p.VNR, err)
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO setting (key, value) VALUES ('catalogue_seeded_at', ?)`, now.Format(time.RFC3339))
		return err
	})
}

var (
	catalogueOnce sync.Once
	catalogueAll  []genPackage
)

// generatedCatalogue returns the generated packages less the products
// (name and strength) that skip tells: those the fixtures hold already, so
// that the fixtures' own stays the only one of its name; the numbers of the
// rest do not move. The generation runs once a process: many tests start simulators.
func generatedCatalogue(skip func(name, strength string) bool) []genPackage {
	catalogueOnce.Do(func() { catalogueAll = generateCatalogue() })
	out := make([]genPackage, 0, len(catalogueAll))
	for _, p := range catalogueAll {
		if !skip(p.Name, p.Strength) {
			out = append(out, p)
		}
	}
	return out
}

// CatalogueChange asks ChangeCatalogue for changes to the catalogue, as
// the Pharmaceutical Database's update on the 1st or 15th brings them.
type CatalogueChange struct {
	Update   int `json:"update"`   // packages renamed
	Add      int `json:"add"`      // new packages
	Withdraw int `json:"withdraw"` // packages withdrawn from sale: status inactive
}

// CatalogueChanged are the package numbers ChangeCatalogue changed.
type CatalogueChanged struct {
	Updated   []string `json:"updated"`
	Added     []string `json:"added"`
	Withdrawn []string `json:"withdrawn"`
}

// ChangeCatalogue changes some Medications behind the client's back (a
// lever, like those of levers.go), so that a test can check that an
// incremental sync takes only what changed. It never touches the fixtures'
// packages (99xxxx), so the demo's prescriptions keep theirs:
//   - Update renames the first active packages by id: " uusi" is added to
//     the trade name;
//   - Withdraw makes the next ones inactive;
//   - Add adds new packages (98xxxx), each a new pack size of an existing
//     product, twice its size.
//
// Each change raises the Medication's versionId and sets its lastUpdated
// past every other Medication's, so a client paging by lastUpdated meets it
// after all it has read.
func (s *Server) ChangeCatalogue(ch CatalogueChange) (CatalogueChanged, error) {
	ctx := context.Background()
	var out CatalogueChanged
	if ch.Update < 0 || ch.Add < 0 || ch.Withdraw < 0 || ch.Update+ch.Add+ch.Withdraw == 0 {
		return out, fmt.Errorf("%w: give update, add or withdraw as counts above zero", ErrInvalid)
	}
	err := s.store.write(ctx, func(tx *sql.Tx) error {
		out = CatalogueChanged{}
		var maxMS int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(updated_ms), 0) FROM medication`).Scan(&maxMS); err != nil {
			return err
		}
		now := s.now()
		ms := max(now.UnixMilli(), maxMS+1)
		stamp := time.UnixMilli(ms).In(now.Location()).Format(lastUpdatedLayout)
		rows, err := tx.QueryContext(ctx, `SELECT `+medicationCols+` FROM medication
			WHERE status = 'active' AND vnr NOT LIKE '99%' AND vnr NOT LIKE '98%' ORDER BY id LIMIT ?`, ch.Update+ch.Withdraw+ch.Add)
		if err != nil {
			return err
		}
		var picked []medicationRow
		for rows.Next() {
			m, err := scanMedication(rows)
			if err != nil {
				rows.Close()
				return err
			}
			picked = append(picked, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(picked) < ch.Update+ch.Withdraw || len(picked) == 0 {
			return fmt.Errorf("%w: the catalogue has %d active packages to change (seed it with Config.Catalogue)", ErrInvalid, len(picked))
		}
		for i, m := range picked {
			switch {
			case i < ch.Update:
				_, err = tx.ExecContext(ctx, `UPDATE medication SET name = name || ' uusi', version = version + 1, last_updated = ?, updated_ms = ? WHERE id = ?`, stamp, ms, m.ID)
				out.Updated = append(out.Updated, m.VNR)
			case i < ch.Update+ch.Withdraw:
				_, err = tx.ExecContext(ctx, `UPDATE medication SET status = 'inactive', version = version + 1, last_updated = ?, updated_ms = ? WHERE id = ?`, stamp, ms, m.ID)
				out.Withdrawn = append(out.Withdrawn, m.VNR)
			}
			if err != nil {
				return err
			}
		}
		for i := range ch.Add {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(CAST(vnr AS INTEGER)), 979999) + 1 FROM medication WHERE vnr LIKE '98%'`).Scan(&n); err != nil {
				return err
			}
			m := picked[i%len(picked)]
			size := max(m.PackSize, 1) * 2
			text := strconv.Itoa(size) + " " + lastWord(m.PackText)
			vnr := pad6(n)
			if _, err := tx.ExecContext(ctx, `INSERT INTO medication (id, vnr, name, substance, atc, strength, form, unit, class,
					pack_size, pack_text, prescription, substitution_group, version, last_updated, updated_ms)
				SELECT ?, ?, name, substance, atc, strength, form, unit, class, ?, ?, prescription, substitution_group, 1, ?, ?
				FROM medication WHERE id = ?`, "med-"+vnr, vnr, size, text, stamp, ms, m.ID); err != nil {
				return err
			}
			out.Added = append(out.Added, vnr)
		}
		return nil
	})
	if err != nil {
		return CatalogueChanged{}, fmt.Errorf("change catalogue: %w", err)
	}
	s.log.Info("lever", "op", "change catalogue", "updated", len(out.Updated), "added", len(out.Added), "withdrawn", len(out.Withdrawn))
	return out, nil
}

// lastWord is the unit of a pack's text: "fol" of "30 fol".
func lastWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return "kpl"
	}
	return f[len(f)-1]
}
