package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/config"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// certWarnDays is how close to expiry a certificate makes doctor warn: a
// month leaves time to order a new service certificate.
const certWarnDays = 30

// minFreeBytes is the free disk below which doctor warns: the journal needs
// little, but a full disk stops the counter recording.
const minFreeBytes = 500 << 20

// Check is one doctor finding.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok, warn, fail, skip
	Detail string `json:"detail"`
}

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
  - the journal: hash chain, integrity, and records waiting for review.
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
	out := opts.Factory.IO.Out
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
		for _, c := range checks {
			fmt.Fprintf(out, "%-5s %-22s %s\n", strings.ToUpper(c.Status), c.Name, c.Detail)
		}
	}
	if failed > 0 {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%d check(s) failed", failed)}
	}
	return nil
}

func doctorChecks(ctx context.Context, opts *DoctorOptions) []Check {
	f := opts.Factory
	now := opts.Now()
	var checks []Check
	add := func(name, status, format string, args ...any) {
		checks = append(checks, Check{Name: name, Status: status, Detail: fmt.Sprintf(format, args...)})
	}
	c, err := f.Config()
	if err != nil {
		add("configuration", "fail", "%v", err)
		return checks
	}
	switch {
	case c.Centre.URL == "":
		add("configuration", "fail", "no Prescription Centre is configured: set centre.url in %s", c.File())
	case c.Pharmacy.Name == "" || c.Pharmacy.OID == "":
		add("configuration", "warn", "pharmacy.name and pharmacy.oid should be set in %s: dispensings name the pharmacy", c.File())
	default:
		add("configuration", "ok", "%s, terminal %s, Prescription Centre %s", c.Pharmacy.Name, c.Terminal, c.Centre.URL)
	}
	checks = append(checks, pharmacyCheck(c))

	// Certificates.
	var tlsConf *tls.Config
	u, _ := url.Parse(c.Centre.URL)
	if c.Centre.CertFile == "" && c.Centre.KeyFile == "" && c.Centre.CAFile == "" {
		if u != nil && u.Scheme == "https" {
			add("certificates", "fail", "centre.url is https but no client certificate is configured (centre.cert, centre.key, centre.ca)")
		} else {
			add("certificates", "skip", "no client certificate configured (plain HTTP: a simulator, never the real Prescription Centre)")
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
				add("prescription centre", "fail", "%v", err)
			} else {
				pctx, cancel := context.WithTimeout(ctx, c.Centre.Timeout)
				start := time.Now()
				if err := client.Probe(pctx); err != nil {
					add("prescription centre", "fail", "GET /metadata: %v", err)
				} else {
					add("prescription centre", "ok", "FHIR CapabilityStatement in %s", time.Since(start).Round(time.Millisecond))
				}
				cancel()
				client.Close()
			}
		}
	}

	// Disk.
	if free, err := freeBytes(c.DataDir); err != nil {
		add("disk", "warn", "cannot read free space of %s: %v", c.DataDir, err)
	} else if free < minFreeBytes {
		add("disk", "warn", "only %d MiB free in %s: free space before the journal fills the disk", free>>20, c.DataDir)
	} else {
		add("disk", "ok", "%d MiB free in %s", free>>20, c.DataDir)
	}

	// Journal.
	if _, err := os.Stat(c.JournalPath()); errors.Is(err, os.ErrNotExist) {
		add("journal", "warn", "no journal yet at %s (it is made on first use)", c.JournalPath())
		return checks
	}
	j, err := f.Journal(ctx)
	if err != nil {
		add("journal", "fail", "%v", err)
		return checks
	}
	rep, err := j.Verify(ctx)
	switch {
	case err != nil:
		add("journal", "fail", "%v", err)
	case !rep.OK:
		add("journal", "fail", "verification failed: %s (run 'tiski journal verify' for details; keep the file for investigation)", rep.Problem)
	default:
		add("journal", "ok", "%d records, hash chain and integrity verified", rep.Records)
	}
	if counts, err := j.Counts(ctx); err == nil {
		checkQueue(counts, now, add)
	}
	return checks
}

func checkQueue(counts journal.Counts, now time.Time, add func(name, status, format string, args ...any)) {
	switch {
	case counts.NeedsReview() > 0:
		add("queue", "warn", "%d record(s) need a pharmacist's review: 'tiski conflicts list'", counts.NeedsReview())
	case counts.Unsent() > 0:
		add("queue", "ok", "%d record(s) waiting for upload, the oldest from %s", counts.Unsent(), counts.OldestPending.Local().Format("2006-01-02 15:04"))
	default:
		add("queue", "ok", "everything uploaded")
	}
}

// checkCertificates reads the client certificate, its key and the CA
// bundle, and reports the days left. It returns a TLS configuration for the
// handshake check, or nil when the files are unusable.
func checkCertificates(certFile, keyFile, caFile, serverName string, now time.Time, add func(name, status, format string, args ...any)) *tls.Config {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		add("certificates", "fail", "client certificate %s and key %s: %v", certFile, keyFile, err)
		return nil
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		add("certificates", "fail", "client certificate %s: %v", certFile, err)
		return nil
	}
	days := int(leaf.NotAfter.Sub(now).Hours() / 24)
	switch {
	case now.After(leaf.NotAfter):
		add("certificate expiry", "fail", "the client certificate expired on %s: order a new service certificate and install it (centre.cert, centre.key)", leaf.NotAfter.Format(time.DateOnly))
	case now.Before(leaf.NotBefore):
		add("certificate expiry", "fail", "the client certificate is valid only from %s: check the machine's clock", leaf.NotBefore.Format(time.DateOnly))
	case days < certWarnDays:
		add("certificate expiry", "warn", "the client certificate expires in %d days, on %s: order a new one now", days, leaf.NotAfter.Format(time.DateOnly))
	default:
		add("certificate expiry", "ok", "%d days left (until %s), subject %s", days, leaf.NotAfter.Format(time.DateOnly), leaf.Subject.CommonName)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		add("certificates", "fail", "CA bundle: %v", err)
		return nil
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := caPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if cert, err := x509.ParseCertificate(block.Bytes); err == nil {
			pool.AddCert(cert)
			n++
		}
	}
	if n == 0 {
		add("certificates", "fail", "CA bundle %s holds no certificate", caFile)
		return nil
	}
	add("certificates", "ok", "client certificate, key and %d CA certificate(s) read", n)
	return &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
}

// checkConnectivity tries DNS, TCP and TLS to the Prescription Centre, each
// reported on its own.
func checkConnectivity(ctx context.Context, u *url.URL, tlsConf *tls.Config, timeout time.Duration, add func(name, status, format string, args ...any)) {
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(dctx, host)
	if err != nil {
		add("dns", "fail", "cannot resolve %s: %v (check the name and the DNS server)", host, err)
		return
	}
	add("dns", "ok", "%s resolves to %s", host, strings.Join(addrs, ", "))
	start := time.Now()
	conn, err := (&net.Dialer{Timeout: timeout}).DialContext(dctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		add("tcp", "fail", "cannot connect to %s:%s: %v (a firewall, or the service is down)", host, port, err)
		return
	}
	add("tcp", "ok", "connected to %s in %s", conn.RemoteAddr(), time.Since(start).Round(time.Millisecond))
	defer conn.Close()
	if u.Scheme != "https" {
		add("tls", "skip", "plain HTTP")
		return
	}
	if tlsConf == nil {
		add("tls", "skip", "no usable certificates to try a handshake with")
		return
	}
	conf := tlsConf.Clone()
	if conf.ServerName == "" {
		conf.ServerName = host
	}
	tconn := tls.Client(conn, conf)
	conn.SetDeadline(time.Now().Add(timeout))
	if err := tconn.HandshakeContext(dctx); err != nil {
		add("tls", "fail", "handshake with %s failed: %v", host, err)
		return
	}
	st := tconn.ConnectionState()
	add("tls", "ok", "%s, server certificate %s valid until %s", tls.VersionName(st.Version), st.PeerCertificates[0].Subject.CommonName, st.PeerCertificates[0].NotAfter.Format(time.DateOnly))
}

// pharmacyCheck fails while the pharmacy's identity is incomplete or its
// OID malformed: nothing can be recorded without it (issue 18).
func pharmacyCheck(c *config.Config) Check {
	if err := c.Pharmacy.Check(); err != nil {
		return Check{Name: "pharmacy identity", Status: "fail", Detail: rx.ErrorMessage(err) + " " + c.PharmacyHelp()}
	}
	return Check{Name: "pharmacy identity", Status: "ok", Detail: fmt.Sprintf("%s, OID %s: records can be made", c.Pharmacy.Name, c.Pharmacy.OID)}
}
