package cli

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/pkg/catalogue"
	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/config"
	"github.com/tiski-rx/tiski/pkg/hub"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/pkg/triage"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// certWarnDays is how close to expiry a certificate makes doctor warn: a
// month leaves time to order a new service certificate.
const certWarnDays = 30

// minFreeBytes is the free disk below which doctor warns: the journal needs
// little, but a full disk stops the counter recording.
const minFreeBytes = 500 << 20

// Check is one doctor finding. Its JSON is the same in every language:
// name, status and detail in English, for scripts.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok, warn, fail, skip
	Detail string `json:"detail"`

	// detail and args say Detail in any language.
	detail i18n.Key
	args   []any
}

// doctorNames are the checks' names in the languages of the output, by
// their JSON name. A new check adds its name here and a key in
// tui/i18n/keys_cli.go (with its texts in catalogue_cli.go); a name
// missing here is shown as it is.
var doctorNames = map[string]i18n.Key{
	"configuration":       i18n.CLIDoctorCheckConfiguration,
	"certificates":        i18n.CLIDoctorCheckCertificates,
	"certificate expiry":  i18n.CLIDoctorCheckExpiry,
	"dns":                 i18n.CLIDoctorCheckDNS,
	"tcp":                 i18n.CLIDoctorCheckTCP,
	"tls":                 i18n.CLIDoctorCheckTLS,
	"prescription centre": i18n.CLIDoctorCheckCentre,
	"disk":                i18n.CLIDoctorCheckDisk,
	"journal":             i18n.CLIDoctorCheckJournal,
	"pharmacy identity":   i18n.CLIDoctorCheckPharmacy,
	"queue":               i18n.CLIDoctorCheckQueue,
	"hub":                 i18n.CLIDoctorCheckHub,
	"hub streams":         i18n.CLIDoctorCheckHubStreams,
	"hub lag":             i18n.CLIDoctorCheckHubLag,
	"sharing":             i18n.CLIDoctorCheckSharing,
	"catalogue":           i18n.CLIDoctorCheckCatalogue,
}

// doctorStatuses are the statuses in the languages of the output.
var doctorStatuses = map[string]i18n.Key{"ok": i18n.CLIDoctorOK, "warn": i18n.CLIDoctorWarn, "fail": i18n.CLIDoctorFail, "skip": i18n.CLIDoctorSkip}

// say writes a finding in l: its name, status and detail.
func (c Check) say(l i18n.Lang) (name, status, detail string) {
	name, status, detail = c.Name, strings.ToUpper(c.Status), c.Detail
	if k, ok := doctorNames[c.Name]; ok {
		name = l.T(k)
	}
	if k, ok := doctorStatuses[c.Status]; ok {
		status = l.T(k)
	}
	if c.detail != 0 {
		detail = l.T(c.detail, c.args...)
	}
	return name, status, detail
}

// addCheck adds a finding whose detail is the catalogue's text k with args.
type addCheck func(name, status string, k i18n.Key, args ...any)

// DoctorOptions are the options of `tiski doctor`.
type DoctorOptions struct {
	Factory *Factory
	JSON    bool
	Now     func() time.Time
}

// NewCmdDoctor builds `tiski doctor`.
func NewCmdDoctor(f *Factory, runF func(context.Context, *DoctorOptions) error) *cobra.Command {
	opts := &DoctorOptions{Factory: f, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check configuration, certificates, connectivity, disk and journal",
		Long: `Check, one by one, and say what to do about each problem:
  - the configuration;
  - the certificate files, and the days left before the client certificate expires;
  - DNS, TCP and TLS to the Prescription Centre, each separately, then a FHIR answer;
  - free disk space in the data folder;
  - the journal: hash chain, integrity, and records waiting for review;
  - with hub.url set, the pharmacy's hub: it answers, its streams and their
    copies, records of the other counters not received here yet, and this
    counter's records not yet shared.
Exits 0 when nothing failed (warnings allowed), 1 otherwise.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return doctorRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the findings as JSON")
	return cmd
}

func doctorRun(ctx context.Context, opts *DoctorOptions) error {
	checks := doctorChecks(ctx, opts)
	out, l := opts.Factory.IO.Out, opts.Factory.Lang()
	failed := 0
	for _, c := range checks {
		if c.Status == "fail" {
			failed++
		}
	}
	if opts.JSON {
		if err := json.NewEncoder(out).Encode(checks); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		for _, c := range checks {
			name, status, detail := c.say(l)
			fmt.Fprintf(tw, "%s\t%s\t%s\n", status, name, detail)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if failed > 0 {
		return &ExitError{Code: ExitFailed, Err: errors.New(l.T(i18n.CLIDoctorFailed, failed))}
	}
	return nil
}

func doctorChecks(ctx context.Context, opts *DoctorOptions) []Check {
	f := opts.Factory
	now := opts.Now()
	var checks []Check
	add := func(name, status string, k i18n.Key, args ...any) {
		checks = append(checks, Check{Name: name, Status: status, Detail: i18n.EN.T(k, args...), detail: k, args: args})
	}
	c, err := f.Config()
	if err != nil {
		add("configuration", "fail", i18n.CLIDoctorError, err)
		return checks
	}
	switch {
	case c.Centre.URL == "":
		add("configuration", "fail", i18n.CLIDoctorNoCentre, c.File())
	case c.Pharmacy.Name == "" || c.Pharmacy.OID == "":
		add("configuration", "warn", i18n.CLIDoctorNoPharmacy, c.File())
	default:
		add("configuration", "ok", i18n.CLIDoctorConfigOK, c.Pharmacy.Name, c.Terminal, c.Centre.URL)
	}
	pharmacyCheck(c, add)

	// Certificates.
	var tlsConf *tls.Config
	u, _ := url.Parse(c.Centre.URL)
	if c.Centre.CertFile == "" && c.Centre.KeyFile == "" && c.Centre.CAFile == "" {
		if u != nil && u.Scheme == "https" {
			add("certificates", "fail", i18n.CLIDoctorHTTPSNoCert)
		} else {
			add("certificates", "skip", i18n.CLIDoctorPlainHTTP)
		}
	} else {
		tlsConf = checkCertificates(c.Centre.CertFile, c.Centre.KeyFile, c.Centre.CAFile, c.Centre.ServerName, now, add)
	}

	// Connectivity, step by step, so IT sees which layer fails.
	if u != nil && u.Host != "" {
		checkConnectivity(ctx, u, tlsConf, c.Centre.ConnectTimeout, add)
		if cc, err := f.CentreConfig(); err == nil {
			cc.Logger = nil
			if client, err := centre.New(cc); err != nil {
				add("prescription centre", "fail", i18n.CLIDoctorError, err)
			} else {
				pctx, cancel := context.WithTimeout(ctx, c.Centre.Timeout)
				start := time.Now()
				if err := client.Probe(pctx); err != nil {
					add("prescription centre", "fail", i18n.CLIDoctorCentreDown, err)
				} else {
					add("prescription centre", "ok", i18n.CLIDoctorCentreOK, time.Since(start).Round(time.Millisecond))
				}
				cancel()
				client.Close()
			}
		}
	}

	// Disk.
	if free, err := freeBytes(c.DataDir); err != nil {
		add("disk", "warn", i18n.CLIDoctorDiskUnknown, c.DataDir, err)
	} else if free < minFreeBytes {
		add("disk", "warn", i18n.CLIDoctorDiskLow, free>>20, c.DataDir)
	} else {
		add("disk", "ok", i18n.CLIDoctorDiskOK, free>>20, c.DataDir)
	}

	checkCatalogue(ctx, f, now, add)

	// Journal.
	if _, err := os.Stat(c.JournalPath()); errors.Is(err, os.ErrNotExist) {
		add("journal", "warn", i18n.CLIDoctorNoJournal, c.JournalPath())
		checkHub(ctx, f, nil, add)
		return checks
	}
	j, err := f.Journal(ctx)
	if err != nil {
		add("journal", "fail", i18n.CLIDoctorError, err)
		checkHub(ctx, f, nil, add)
		return checks
	}
	rep, err := j.Verify(ctx)
	switch {
	case err != nil:
		add("journal", "fail", i18n.CLIDoctorError, err)
	case !rep.OK:
		add("journal", "fail", i18n.CLIDoctorJournalBad, rep.Problem)
	default:
		add("journal", "ok", i18n.CLIDoctorJournalOK, rep.Records)
	}
	if counts, err := j.Counts(ctx); err == nil {
		checkQueue(counts, now, add)
	}
	checkHub(ctx, f, j, add)
	return checks
}

// checkCatalogue warns when no medicine catalogue has been imported, or
// when the catalogue missed its last due date (the 1st or 15th after its
// import: Kanta asks pharmacy systems to take in the Pharmaceutical
// Database's updates then; issue 24).
func checkCatalogue(ctx context.Context, f *Factory, now time.Time, add addCheck) {
	path, err := f.cataloguePath()
	if err != nil {
		return
	}
	c, err := catalogue.Open(ctx, path)
	if err != nil {
		add("catalogue", "fail", i18n.CLIDoctorError, err)
		return
	}
	defer c.Close()
	info, err := c.Info(ctx)
	switch {
	case rx.ErrorCode(err) == rx.ENOTFOUND:
		add("catalogue", "warn", i18n.CLIDoctorCatalogueNone)
		return
	case err != nil:
		add("catalogue", "fail", i18n.CLIDoctorError, err)
		return
	}
	s := newCatalogueStatus(path, info, true, now)
	if s.Overdue {
		add("catalogue", "warn", i18n.CLIDoctorCatalogueOverdue, s.Version, s.NextDue)
		return
	}
	add("catalogue", "ok", i18n.CLIDoctorCatalogueOK, s.Count, s.Version, s.NextDue)
}

// doctorHubWait bounds doctor's look at the hub.
const doctorHubWait = 5 * time.Second

// checkHub looks at the pharmacy's hub when hub.url is set (issue 19): it
// answers, it has the pharmacy's streams with every copy current, this
// counter has received what the others shared, and this counter's records
// are all at the hub. j is nil when the journal cannot be read.
func checkHub(ctx context.Context, f *Factory, j *journal.Journal, add addCheck) {
	o, ok, err := f.HubOptions()
	if err != nil || !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, doctorHubWait)
	defer cancel()
	unshared := func(hubUp bool) {
		if j == nil {
			return
		}
		st, err := j.Share(ctx)
		switch {
		case err != nil:
			add("sharing", "fail", i18n.CLIDoctorError, err)
		case st.Unshared > 0:
			add("sharing", "warn", i18n.CLIDoctorUnshared, st.Unshared)
		case hubUp:
			add("sharing", "ok", i18n.CLIDoctorSharedAll)
		}
	}
	c, err := hub.Connect(ctx, o)
	if err != nil {
		add("hub", "fail", i18n.CLIDoctorHubDown, err)
		unshared(false)
		return
	}
	defer c.Close()
	st, err := c.Status(ctx)
	if err != nil {
		add("hub", "fail", i18n.CLIDoctorHubDown, err)
		unshared(false)
		return
	}
	add("hub", "ok", i18n.CLIDoctorHubOK, st.URL, st.Server)
	var records, claims uint64
	replicas, problems := 0, false
	for _, s := range st.Streams {
		switch {
		case !s.Present:
			add("hub streams", "fail", i18n.CLIDoctorHubStreamMissing, s.Name)
			problems = true
		case !s.Healthy():
			add("hub streams", "warn", i18n.CLIDoctorHubStreamDegraded, s.Name, streamHealth(s))
			problems = true
		}
		switch s.Name {
		case hub.RecordsStream:
			records, replicas = s.Messages, s.Replicas
		case hub.ClaimsStream:
			claims = s.Messages
		}
	}
	if !problems {
		add("hub streams", "ok", i18n.CLIDoctorHubStreamsOK, records, claims, replicas)
	}
	switch lag, ok, err := c.Lag(ctx); {
	case err != nil:
		add("hub lag", "warn", i18n.CLIDoctorError, err)
	case !ok:
		add("hub lag", "warn", i18n.CLIDoctorHubNoConsumer)
	case lag.Lag() > 0:
		add("hub lag", "warn", i18n.CLIDoctorHubLag, lag.Lag())
	default:
		add("hub lag", "ok", i18n.CLIDoctorHubLagNone)
	}
	unshared(true)
}

func checkQueue(counts journal.Counts, now time.Time, add addCheck) {
	switch {
	case counts.NeedsReview() > 0:
		add("queue", "warn", i18n.CLIDoctorQueueReview, counts.NeedsReview())
	case counts.Unsent() > 0:
		add("queue", "ok", i18n.CLIDoctorQueueWaiting, counts.Unsent(), counts.OldestPending.Local().Format("2006-01-02 15:04"))
	default:
		add("queue", "ok", i18n.CLIDoctorQueueEmpty)
	}
}

// checkCertificates reads the client certificate, its key and the CA
// bundle, and reports the days left. It returns a TLS configuration for the
// handshake check, or nil when the files are unusable.
func checkCertificates(certFile, keyFile, caFile, serverName string, now time.Time, add addCheck) *tls.Config {
	// The files are read as the triage reads them (pkg/triage), and said
	// here in doctor's words.
	if certFile == "" && keyFile == "" {
		// The Prescription Centre asks every pharmacy for its certificate.
		_, err := tls.LoadX509KeyPair(certFile, keyFile)
		add("certificates", "fail", i18n.CLIDoctorCertUnreadable, certFile, keyFile, err)
		return nil
	}
	c := triage.LoadCerts(certFile, keyFile, caFile, serverName)
	switch {
	case c.PairErr != nil:
		add("certificates", "fail", i18n.CLIDoctorCertUnreadable, certFile, keyFile, c.PairErr)
		return nil
	case c.LeafErr != nil:
		add("certificates", "fail", i18n.CLIDoctorCertUnparsable, certFile, c.LeafErr)
		return nil
	}
	if leaf := c.Leaf; leaf != nil {
		days := int(leaf.NotAfter.Sub(now).Hours() / 24)
		switch {
		case now.After(leaf.NotAfter):
			add("certificate expiry", "fail", i18n.CLIDoctorCertExpired, leaf.NotAfter.Format(time.DateOnly))
		case now.Before(leaf.NotBefore):
			add("certificate expiry", "fail", i18n.CLIDoctorCertNotYet, leaf.NotBefore.Format(time.DateOnly))
		case days < certWarnDays:
			add("certificate expiry", "warn", i18n.CLIDoctorCertExpiring, days, leaf.NotAfter.Format(time.DateOnly))
		default:
			add("certificate expiry", "ok", i18n.CLIDoctorCertOK, days, leaf.NotAfter.Format(time.DateOnly), leaf.Subject.CommonName)
		}
	}
	if caFile == "" {
		// The system roots are never trusted: a bundle is needed.
		_, c.CAErr = os.ReadFile(caFile)
	}
	switch {
	case c.CAErr != nil:
		add("certificates", "fail", i18n.CLIDoctorCAUnreadable, c.CAErr)
		return nil
	case c.CAs == 0:
		add("certificates", "fail", i18n.CLIDoctorCAEmpty, caFile)
		return nil
	}
	add("certificates", "ok", i18n.CLIDoctorCertsOK, c.CAs)
	return c.TLS
}

// checkConnectivity tries DNS, TCP and TLS to the Prescription Centre, each
// reported on its own (pkg/triage's CheckWay, which the triage uses too).
func checkConnectivity(ctx context.Context, u *url.URL, tlsConf *tls.Config, timeout time.Duration, add addCheck) {
	w := triage.CheckWay(ctx, nil, u, tlsConf, timeout)
	if w.DNSErr != nil {
		add("dns", "fail", i18n.CLIDoctorDNSFailed, w.Host, w.DNSErr)
		return
	}
	add("dns", "ok", i18n.CLIDoctorDNSOK, w.Host, strings.Join(w.Addrs, ", "))
	if w.TCPErr != nil {
		add("tcp", "fail", i18n.CLIDoctorTCPFailed, w.Host, w.Port, w.TCPErr)
		return
	}
	add("tcp", "ok", i18n.CLIDoctorTCPOK, w.Remote, w.Connect.Round(time.Millisecond))
	switch {
	case u.Scheme != "https":
		add("tls", "skip", i18n.CLIDoctorTLSPlain)
	case tlsConf == nil:
		add("tls", "skip", i18n.CLIDoctorTLSNoCerts)
	case w.TLSErr != nil:
		add("tls", "fail", i18n.CLIDoctorTLSFailed, w.Host, w.TLSErr)
	default:
		st := w.TLS
		add("tls", "ok", i18n.CLIDoctorTLSOK, tls.VersionName(st.Version), st.PeerCertificates[0].Subject.CommonName, st.PeerCertificates[0].NotAfter.Format(time.DateOnly))
	}
}

// pharmacyCheck fails while the pharmacy's identity is incomplete or its
// OID malformed: nothing can be recorded without it (issue 18).
func pharmacyCheck(c *config.Config, add addCheck) {
	var missing []string
	for _, k := range []struct{ key, value string }{{"pharmacy.oid", c.Pharmacy.OID}, {"pharmacy.name", c.Pharmacy.Name}} {
		if strings.TrimSpace(k.value) == "" {
			missing = append(missing, k.key)
		}
	}
	switch err := c.Pharmacy.Check(); {
	case len(missing) > 0:
		add("pharmacy identity", "fail", i18n.CLIDoctorPharmacyMissing, strings.Join(missing, ", "), c.File())
	case err != nil:
		add("pharmacy identity", "fail", i18n.CLIDoctorError, err)
	default:
		add("pharmacy identity", "ok", i18n.CLIDoctorPharmacyOK, c.Pharmacy.Name, c.Pharmacy.OID)
	}
}
