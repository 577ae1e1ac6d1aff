package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// NewCmdConfig builds `tiski config`.
func NewCmdConfig(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Show the configuration"}
	cmd.AddCommand(NewCmdConfigShow(f, nil))
	return cmd
}

// ConfigShowOptions are the options of `tiski config show`.
type ConfigShowOptions struct {
	Factory *Factory
	JSON    bool
}

// NewCmdConfigShow builds `tiski config show`.
func NewCmdConfigShow(f *Factory, runF func(context.Context, *ConfigShowOptions) error) *cobra.Command {
	opts := &ConfigShowOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration and where each value came from",
		Long: `Print every configuration key, its effective value and where it came from:
a flag, an environment variable, the configuration file (config.toml in the
data folder) or the built-in default, in that order of precedence.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return configShowRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

func configShowRun(_ context.Context, opts *ConfigShowOptions) error {
	c, err := opts.Factory.Config()
	if err != nil {
		return err
	}
	out := opts.Factory.IO.Out
	if opts.JSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"file": c.File(), "values": c.Entries()})
	}
	l := opts.Factory.Lang()
	fmt.Fprintf(out, "%s\n\n", l.T(i18n.CLIConfigFile, c.File()))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, l.T(i18n.CLIConfigHeader))
	for _, e := range c.Entries() {
		v := e.Value
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Key, v, e.Source, e.Env)
	}
	return tw.Flush()
}
