package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/pkg/hub"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// hubStatusWait bounds how long `tiski hub status` waits for the hub.
const hubStatusWait = 5 * time.Second

// HubStatusOptions are the options of `tiski hub status`.
type HubStatusOptions struct {
	Factory *Factory
	JSON    bool
	Now     func() time.Time
}

// NewCmdHubStatus builds `tiski hub status`.
func NewCmdHubStatus(f *Factory, runF func(context.Context, *HubStatusOptions) error) *cobra.Command {
	opts := &HubStatusOptions{Factory: f, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the hub's streams, the counters and each counter's lag",
		Long: `Show the pharmacy's hub (hub.url): its streams with their records, size and
copies (in a cluster: the leader and whether each other copy is current),
every counter's last word (mode, records not yet shared, records waiting for
upload, last contact), and how many records each counter has not received yet.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return hubStatusRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the status as JSON")
	return cmd
}

func hubStatusRun(ctx context.Context, opts *HubStatusOptions) error {
	f := opts.Factory
	o, ok, err := f.HubOptions()
	if err != nil {
		return err
	}
	if !ok {
		return rx.Errorf(rx.ECONFIG, "No hub is configured: set hub.url (TISKI_HUB_URL, --hub) to the hub's nats://HOST:PORT.")
	}
	ctx, cancel := context.WithTimeout(ctx, hubStatusWait)
	defer cancel()
	c, err := hub.Connect(ctx, o)
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := c.Status(ctx)
	if err != nil {
		return rx.Errorf(rx.EUNAVAILABLE, "The hub at %s answered but did not report its state: %v.", o.URL, err)
	}
	if opts.JSON {
		enc := json.NewEncoder(f.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	return writeHubStatus(f.IO.Out, st, opts.Now())
}

// writeHubStatus is the status for people.
func writeHubStatus(out io.Writer, st *hub.HubStatus, now time.Time) error {
	fmt.Fprintf(out, "Hub %s (%s)\n\n", st.URL, st.Server)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tRECORDS\tBYTES\tCOPIES\tHEALTH")
	for _, s := range st.Streams {
		if !s.Present {
			why := "missing: restart the hub to create it"
			if s.Error != "" {
				why = s.Error
			}
			fmt.Fprintf(tw, "%s\t-\t-\t-\t%s\n", s.Name, why)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", s.Name, s.Messages, s.Bytes, s.Replicas, streamHealth(s))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(out)
	if len(st.Counters) == 0 {
		fmt.Fprintln(out, "No counter has announced itself yet.")
	} else {
		tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "COUNTER\tMODE\tNOT SHARED\tWAITING UPLOAD\tLAST CONTACT")
		for _, k := range st.Counters {
			mode := k.Mode
			if mode == "" {
				mode = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", k.Counter, mode, k.Unshared, k.Pending, lastContact(k.At, now))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	fmt.Fprintln(out)
	if len(st.Consumers) == 0 {
		fmt.Fprintln(out, "No counter has read from the hub yet.")
		return nil
	}
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "READER\tCOUNTER\tNOT RECEIVED\tRECEIVING\tLAST DELIVERY")
	for _, c := range st.Consumers {
		counter := c.Counter
		if counter == "" {
			counter = "?"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", c.Name, counter, c.NumPending, c.AckPending, lastContact(c.LastActive, now))
	}
	return tw.Flush()
}

// streamHealth says whether each copy of a stream is current.
func streamHealth(s hub.StreamStatus) string {
	if s.Replicas <= 1 {
		return "ok (single hub)"
	}
	if s.Leader == "" {
		return "NO LEADER: fewer than two of the hubs answer"
	}
	parts := []string{"leader " + s.Leader}
	for _, p := range s.Peers {
		switch {
		case p.Offline:
			parts = append(parts, p.Name+" OFFLINE")
		case !p.Current:
			parts = append(parts, fmt.Sprintf("%s behind by %d", p.Name, p.Lag))
		default:
			parts = append(parts, p.Name+" current")
		}
	}
	return strings.Join(parts, ", ")
}

// lastContact is a time as "10:02:03 (5s ago)".
func lastContact(at, now time.Time) string {
	if at.IsZero() {
		return "never"
	}
	ago := now.Sub(at).Round(time.Second)
	if ago < 0 {
		ago = 0
	}
	return fmt.Sprintf("%s (%s ago)", at.Local().Format("2006-01-02 15:04:05"), ago)
}
