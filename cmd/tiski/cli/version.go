package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// VersionOptions are the options of `tiski version`.
type VersionOptions struct {
	IO    IO
	Build Build
	JSON  bool
}

// NewCmdVersion builds `tiski version`.
func NewCmdVersion(f *Factory, runF func(context.Context, *VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{IO: f.IO, Build: f.Build}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of tiski",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return versionRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

func versionRun(_ context.Context, opts *VersionOptions) error {
	b := opts.Build
	if b.Version == "" || b.Version == "dev" {
		// A `go build` or `go run` binary: say what the toolchain knows.
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, s := range info.Settings {
				switch s.Key {
				case "vcs.revision":
					if b.Commit == "" {
						b.Commit = s.Value
					}
				case "vcs.time":
					if b.Date == "" {
						b.Date = s.Value
					}
				}
			}
		}
		if b.Version == "" {
			b.Version = "dev"
		}
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]string{
			"version": b.Version, "commit": b.Commit, "date": b.Date,
			"go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH,
		})
	}
	fmt.Fprintf(opts.IO.Out, "tiski %s", b.Version)
	if b.Commit != "" {
		fmt.Fprintf(opts.IO.Out, " (commit %.12s", b.Commit)
		if b.Date != "" {
			fmt.Fprintf(opts.IO.Out, ", %s", b.Date)
		}
		fmt.Fprint(opts.IO.Out, ")")
	}
	fmt.Fprintf(opts.IO.Out, " %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
