// Command tiski is the offline-tolerant dispensing client for Finnish
// pharmacies: the counter, the reconciliation queue, the IT commands and the
// Prescription Centre simulator. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tiski-rx/tiski/cmd/tiski/cli"
)

// Stamped by the release build (.goreleaser.yaml).
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// started is set as the package initialises, before main runs.
var started = time.Now()

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.Build{Version: version, Commit: commit, Date: date, Started: started}, os.Args[1:], cli.StdIO())
	stop()
	os.Exit(code)
}
