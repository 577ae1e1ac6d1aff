// Command tiskibench measures what "good" means (DESIGN §10) in one run:
// each figure beside its floor or peer, measured in the same run on the
// same machine, with the ratio, the target and pass or fail.
//
//	go run ./cmd/tiskibench [--json] [--quick] [--gated] [--run REGEXP] [--cpuprofile FILE]
//
// It exits 1 when a row fails and 2 when it could not run. Everything it
// starts listens on 127.0.0.1 and lives in a temporary folder, except the
// journal of a million records, which it builds once, and the tiski binary
// it measures, which go build keeps up to date: both under the user's
// cache folder (tiski-bench/).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"runtime/pprof"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses the flags, measures and prints; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("tiskibench", flag.ContinueOnError)
	fl.SetOutput(stderr)
	asJSON := fl.Bool("json", false, "print one JSON object a row")
	quick := fl.Bool("quick", false, "fewer samples: finishes within a minute")
	gated := fl.Bool("gated", false, "exit 1 only when a row misses its gate, where it has one (the earlier target of a row an open issue raised), else its target: what CI holds")
	only := fl.String("run", "", "measure only the groups whose name matches this regexp (journal, drain, detect, herd, counter, hub, catalogue)")
	cpuprofile := fl.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	cacheDir := fl.String("cache", "", "folder of the cached journal for sync status and the tiski binary (default: the user's cache folder/tiski-bench)")
	statusRecords := fl.Int("status-records", 0, "records in the sync status journal (default 1,000,000; the row says how many)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	cfg := fullConfig()
	if *quick {
		cfg = quickConfig()
	}
	cfg.cacheDir = *cacheDir
	if *statusRecords > 0 {
		cfg.statusRecords = *statusRecords
	}
	var match *regexp.Regexp
	if *only != "" {
		var err error
		if match, err = regexp.Compile(*only); err != nil {
			fmt.Fprintln(stderr, "tiskibench: --run:", err)
			return 2
		}
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "tiskibench:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "tiskibench:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	return measure(ctx, cfg, match, *asJSON, *gated, stdout, stderr)
}

// measure measures the groups that match (all when match is nil), prints
// the rows and returns the exit code: 0 when every row passed, 1 when one
// failed, 2 when the run could not finish.
func measure(ctx context.Context, cfg config, match *regexp.Regexp, asJSON, gated bool, stdout, stderr io.Writer) int {
	start := time.Now()
	var rows []Row
	for _, g := range groups(cfg) {
		if match != nil && !match.MatchString(g.name) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		t := time.Now()
		rs := g.measure(ctx, cfg)
		fmt.Fprintf(stderr, "tiskibench: %s: %s\n", g.name, time.Since(t).Round(10*time.Millisecond))
		rows = append(rows, rs...)
	}
	fmt.Fprintf(stderr, "tiskibench: %d rows in %s\n", len(rows), time.Since(start).Round(100*time.Millisecond))
	var err error
	if asJSON {
		err = writeJSON(stdout, rows)
	} else {
		err = writeTable(stdout, rows)
	}
	if err != nil {
		fmt.Fprintln(stderr, "tiskibench:", err)
		return 2
	}
	if ctx.Err() != nil {
		return 2
	}
	if !allPass(rows, gated) {
		return 1
	}
	return 0
}

// group is a set of rows measured together.
type group struct {
	name    string
	measure func(ctx context.Context, cfg config) []Row
}

func groups(cfg config) []group {
	gs := []group{
		{"journal", measureJournal},
		{"drain", measureDrain},
		{"detect", measureDetection},
		{"herd", measureHerd},
		{"counter", measureCounter},
		{"hub", measureHub},
		{"catalogue", measureCatalogue},
	}
	return append(gs, cfg.extra...)
}
