package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/tiski-rx/tiski/pkg/catalogue"
)

// The medicine catalogue's targets (issue 24): absolute, since there is no
// floor the picker's typing could be divided by.
const (
	catalogueImportMS = 2000 // import of 15,000 packages
	catalogueVNRMS    = 1    // lookup by VNR
	catalogueSearchMS = 5    // a name prefix, the first 20 hits
	cataloguePackages = 15000
)

// measureCatalogue measures the local medicine catalogue (issue 24): the
// import of Fimea's file of 15,000 packages, read, decoded, written,
// checked and swapped in; a lookup by VNR; and a name-prefix search as the
// picker makes one at each letter typed.
func measureCatalogue(ctx context.Context, cfg config) []Row {
	importName := fmt.Sprintf("catalogue: import of Fimea's file, %s packages (median of 3)", thousands(cataloguePackages))
	n := 2000
	if cfg.quick {
		n = 500
	}
	vnrName := fmt.Sprintf("catalogue: lookup by VNR (%s) p99", thousands(n))
	searchName := fmt.Sprintf("catalogue: name prefix, first 20 hits (%s) p99", thousands(n))
	fail := func(err error) []Row {
		return []Row{failed(importName, "ms", valueAtMost(catalogueImportMS), err),
			failed(vnrName, "ms", valueAtMost(catalogueVNRMS), err), failed(searchName, "ms", valueAtMost(catalogueSearchMS), err)}
	}
	dir, err := os.MkdirTemp("", "tiskibench-catalogue-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	vnrs, src, err := writeFimeaFile(dir)
	if err != nil {
		return fail(err)
	}
	path := filepath.Join(dir, catalogue.FileName)
	var imports []time.Duration
	for range 3 {
		start := time.Now()
		if _, err := catalogue.ImportFimea(ctx, path, src, catalogue.FimeaOptions{}); err != nil {
			return fail(err)
		}
		imports = append(imports, time.Since(start))
	}
	c, err := catalogue.Open(ctx, path)
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	var lookups, searches []time.Duration
	typed := []string{"k", "ka", "kal", "kalo", "s", "sö", "söm", "d", "dä", "däk", "m", "mi", "mir"}
	for i := range n {
		vnr := vnrs[i*7919%len(vnrs)]
		start := time.Now()
		if p, err := c.ByVNR(ctx, vnr); err != nil || p.VNR != vnr {
			return fail(fmt.Errorf("lookup %s: %+v, %v", vnr, p, err))
		}
		lookups = append(lookups, time.Since(start))
		start = time.Now()
		if ps, err := c.Search(ctx, typed[i%len(typed)], 20); err != nil || len(ps) == 0 {
			return fail(fmt.Errorf("search %q: %d hits, %v", typed[i%len(typed)], len(ps), err))
		}
		searches = append(searches, time.Since(start))
	}
	return []Row{
		row(importName, ms(quantile(imports, 0.5)), "ms", nan(), "", valueAtMost(catalogueImportMS)),
		row(vnrName, ms(quantile(lookups, 0.99)), "ms", nan(), "", valueAtMost(catalogueVNRMS)),
		row(searchName, ms(quantile(searches, 0.99)), "ms", nan(), "", valueAtMost(catalogueSearchMS)),
	}
}

// writeFimeaFile writes a Fimea file of cataloguePackages packages, in ISO
// 8859-1 with Windows line ends, with names spread as a real catalogue's:
// a few hundred trade names, each in several strengths and packs.
func writeFimeaFile(dir string) (vnrs []string, path string, err error) {
	syll := []string{"ka", "lo", "mi", "ra", "se", "to", "vi", "nu", "pe", "dä", "sö", "ly"}
	var sb strings.Builder
	sb.WriteString("SUBSTITUUTIORYHMA;VNRNRO;PAKKAUSKOKO;RESEPTISTATUS;LAAKENIMI;VAHVUUS;LAAKEMUOTO;ATCKOODI\r\n")
	for i := range cataloguePackages {
		trade := i / 24
		name := strings.ToUpper(syll[trade%12][:1]) + syll[trade%12][1:] + syll[(trade/12)%12] + syll[(trade/144)%12] + "n"
		vnr := fmt.Sprintf("%06d", 10000+i*37%900000)
		vnrs = append(vnrs, vnr)
		fmt.Fprintf(&sb, "%d;%s;%d fol;R;%s;%d mg;tabletti;N02BE01\r\n", trade, vnr, 10*(1+i%4), name, 5*(1+i%6))
	}
	latin1, err := charmap.ISO8859_1.NewEncoder().String(sb.String())
	if err != nil {
		return nil, "", err
	}
	path = filepath.Join(dir, "substituutio.txt")
	return vnrs, path, os.WriteFile(path, []byte(latin1), 0o600)
}
