package catalogue

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// fimeaColumn is one column of Fimea's file that the catalogue keeps.
type fimeaColumn struct {
	names    []string // header names, in normal form (see headerName)
	what     string   // what it holds, for an error
	required bool
	set      func(p *Package, v string)
}

// fimeaColumns are read by their header names, so that extra or reordered
// columns are fine. The six that Fimea's file starts with are required; the
// rest are kept when the file has them.
var fimeaColumns = []fimeaColumn{
	{[]string{"SUBSTITUUTIORYHMA"}, "substitution group", true, func(p *Package, v string) { p.SubstitutionGroup = v }},
	{[]string{"VNRNRO"}, "package number", true, func(p *Package, v string) { p.VNR = v }},
	{[]string{"PAKKAUSKOKO"}, "pack size", true, func(p *Package, v string) { p.PackSize = v }},
	{[]string{"RESEPTISTATUS"}, "prescription status", true, func(p *Package, v string) { p.Prescription = v }},
	{[]string{"LAAKENIMI"}, "trade name", true, func(p *Package, v string) { p.Name = v }},
	{[]string{"VAHVUUS"}, "strength", true, func(p *Package, v string) { p.Strength = v }},
	{[]string{"LAAKEMUOTO"}, "pharmaceutical form", false, func(p *Package, v string) { p.Form = v }},
	{[]string{"ATCKOODI", "ATC"}, "ATC code", false, func(p *Package, v string) { p.ATC = v }},
	{[]string{"VAIKUTTAVAAINE", "VAIKUTTAVATAINEET", "AINE"}, "active substance", false, func(p *Package, v string) { p.Substance = v }},
	{[]string{"HUUMAUSAINELUOKKA", "HUUMAUSAINE"}, "narcotic class", false, func(p *Package, v string) { p.NarcoticClass = v }},
	{[]string{"PKVLUOKKA", "PKV"}, "PKV class", false, func(p *Package, v string) { p.PKVClass = v }},
}

// ReadFimea reads Fimea's list of substitutable medicinal products for
// databases: a semicolon-separated text file with a header line, in ISO
// 8859-1. Every error names the line or the column, in the file's terms,
// and no package is returned with one.
func ReadFimea(r io.Reader) ([]Package, error) {
	br, err := decoded(r)
	if err != nil {
		return nil, fmt.Errorf("read Fimea file: %w", err)
	}
	header, _, err := readLine(br)
	if errors.Is(err, io.EOF) && header == "" {
		return nil, rx.Errorf(rx.EINVALID, "The Fimea file is empty: it has no header line.")
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read Fimea file: %w", err)
	}
	names := splitFields(header)
	at := map[string]int{}
	for i, n := range names {
		at[headerName(n)] = i
	}
	type use struct {
		col int
		set func(*Package, string)
	}
	var uses []use
	for _, c := range fimeaColumns {
		found := -1
		for _, n := range c.names {
			if i, ok := at[n]; ok {
				found = i
				break
			}
		}
		switch {
		case found >= 0:
			uses = append(uses, use{found, c.set})
		case c.required:
			return nil, rx.Errorf(rx.EINVALID, "The Fimea file has no column %s (%s) in its header line; it has: %s.",
				c.names[0], c.what, strings.Join(names, ", "))
		}
	}
	vnrCol := at["VNRNRO"]
	var pkgs []Package
	seen := map[string]int{}
	for line := 2; ; line++ {
		text, ended, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read Fimea file, line %d: %w", line, err)
		}
		if errors.Is(err, io.EOF) && text == "" {
			break
		}
		if strings.TrimSpace(text) != "" {
			fields := splitFields(text)
			switch {
			case len(fields) < len(names) && !ended:
				return nil, rx.Errorf(rx.EINVALID, "The Fimea file ends in the middle of line %d (%d of its %d columns): it seems cut off. Fetch the file again.",
					line, len(fields), len(names))
			case len(fields) != len(names):
				return nil, rx.Errorf(rx.EINVALID, "Line %d of the Fimea file has %d columns; its header line has %d.",
					line, len(fields), len(names))
			}
			vnr, ok := NormalVNR(fields[vnrCol])
			if !ok {
				return nil, rx.Errorf(rx.EINVALID, "Line %d of the Fimea file: VNRNRO %q is not a package number.", line, fields[vnrCol])
			}
			if first, dup := seen[vnr]; dup {
				return nil, rx.Errorf(rx.EINVALID, "Lines %d and %d of the Fimea file both hold package %s.", first, line, vnr)
			}
			seen[vnr] = line
			var p Package
			for _, u := range uses {
				u.set(&p, fields[u.col])
			}
			p.VNR = vnr
			p.Size, p.Unit = sizeAndUnit(p.PackSize, p.Form)
			if p.Name == "" {
				return nil, rx.Errorf(rx.EINVALID, "Line %d of the Fimea file: package %s has no LAAKENIMI (trade name).", line, vnr)
			}
			pkgs = append(pkgs, p)
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if len(pkgs) == 0 {
		return nil, rx.Errorf(rx.EINVALID, "The Fimea file has a header line but no packages.")
	}
	return pkgs, nil
}

// decoded returns the file's text as UTF-8. Fimea writes ISO 8859-1; read
// as Windows-1252 ("Windows ANSI"), which is ISO 8859-1 with printable
// characters in place of the C1 controls at 0x80–0x9F, every letter of the
// Finnish and Swedish names decodes the same, and a dash or quote from
// Windows decodes as itself rather than a control. A file that a
// spreadsheet saved again as UTF-8 (with a byte order mark, or valid UTF-8
// with letters beyond ASCII, which ISO 8859-1 text with ä or ö never is in
// practice) is read as UTF-8, so that its names are not garbled.
func decoded(r io.Reader) (*bufio.Reader, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if rest, ok := bytes.CutPrefix(raw, []byte("\xef\xbb\xbf")); ok {
		return bufio.NewReader(bytes.NewReader(rest)), nil
	}
	if utf8.Valid(raw) {
		// ASCII or UTF-8: either way, the bytes are the text.
		return bufio.NewReader(bytes.NewReader(raw)), nil
	}
	return bufio.NewReader(charmap.Windows1252.NewDecoder().Reader(bytes.NewReader(raw))), nil
}

// readLine reads one line without its line end, and whether it had one.
func readLine(br *bufio.Reader) (string, bool, error) {
	s, err := br.ReadString('\n')
	ended := strings.HasSuffix(s, "\n")
	return strings.TrimRight(s, "\r\n"), ended, err
}

// splitFields splits a line at its semicolons, trimming each field and the
// quotes a spreadsheet may put around it.
func splitFields(line string) []string {
	fs := strings.Split(line, ";")
	for i, f := range fs {
		f = strings.TrimSpace(f)
		if len(f) >= 2 && f[0] == '"' && f[len(f)-1] == '"' {
			f = strings.ReplaceAll(f[1:len(f)-1], `""`, `"`)
		}
		fs[i] = strings.TrimSpace(f)
	}
	return fs
}

// headerName is a header name in normal form: upper case, without spaces,
// underscores or hyphens, and with Ä and Ö as A and O, as Fimea spells its
// own (LAAKENIMI for LÄÄKENIMI).
func headerName(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	return strings.NewReplacer(" ", "", "_", "", "-", "", "Ä", "A", "Ö", "O", "Å", "A").Replace(s)
}

// FimeaOptions describe a Fimea file being imported.
type FimeaOptions struct {
	Version string    // the data's version; default the file's name
	Date    time.Time // the data's date; default the file's modification time
	Now     time.Time // the import's time; default time.Now()
}

// ImportFimea reads Fimea's file src and makes it the catalogue at path,
// whole. On any error the old catalogue is left as it was, answering.
func ImportFimea(ctx context.Context, path, src string, opts FimeaOptions) (Info, error) {
	f, err := os.Open(src)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Info{}, unchanged{rx.Errorf(rx.ENOTFOUND, "There is no file %s.", src)}
		}
		return Info{}, unchanged{fmt.Errorf("open Fimea file: %w", err)}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Info{}, unchanged{fmt.Errorf("open Fimea file: %w", err)}
	}
	pkgs, err := ReadFimea(f)
	if err != nil {
		return Info{}, unchanged{err}
	}
	info := Info{Source: SourceFimea, Version: opts.Version, Date: opts.Date, ImportedAt: opts.Now}
	if info.Version == "" {
		info.Version = filepath.Base(src)
	}
	if info.Date.IsZero() {
		info.Date = fi.ModTime()
	}
	return Replace(ctx, path, info, pkgs)
}
