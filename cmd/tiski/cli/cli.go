// Package cli holds tiski's commands. It is the only package that uses cobra;
// each command follows the shape NewCmdX(f, runF) with an options struct and
// an xRun(ctx, opts) function, and opens what it needs lazily.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Build is what the release build stamps into the binary.
type Build struct {
	Version string
	Commit  string
	Date    string
}

// IO is where a command reads and writes.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// StdIO returns the process's standard streams.
func StdIO() IO { return IO{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr} }

// Factory carries what every command may need. Dependencies are opened by
// the commands that need them, never up front, so `tiski version` works with
// no journal and no network.
type Factory struct {
	Build Build
	IO    IO
}

// Main runs the command line and returns the process exit code. Every error
// is printed and mapped to an exit code here, in one place.
func Main(ctx context.Context, build Build, args []string, streams IO) int {
	f := &Factory{Build: build, IO: streams}
	root := NewCmdRoot(f)
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	err := root.ExecuteContext(ctx)
	code := exitCode(err)
	if err != nil {
		var ee *ExitError
		if !(errors.As(err, &ee) && ee.Err == nil) && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(streams.ErrOut, "tiski: "+err.Error())
		}
		if code == ExitUsage {
			fmt.Fprintln(streams.ErrOut, "Run 'tiski --help' for usage.")
		}
	}
	return code
}

// NewCmdRoot builds the root command with every subcommand.
func NewCmdRoot(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "tiski",
		Short: "Offline-tolerant dispensing client for Finnish pharmacies",
		Long: strings.TrimSpace(`
tiski shows pharmacists the prescriptions held by Kanta's Prescription Centre.
When the Prescription Centre fails, tiski records paper and telephone
prescriptions and essential-medication dispensings in a local journal, and
reconciles them upstream once the service recovers.

Start with 'tiski demo': a simulated Prescription Centre with fixtures.`),
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       f.Build.Version,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.SetVersionTemplate("tiski {{.Version}}\n")
	root.AddCommand(
		NewCmdVersion(f, nil),
		NewCmdCentre(f),
		NewCmdDemo(f, nil),
	)
	return root
}

// exactArgs is cobra.ExactArgs with a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// rangeArgs is cobra.RangeArgs with a usage error.
func rangeArgs(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.RangeArgs(min, max)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
