// Package config holds tiski's configuration: a TOML file in the data
// folder, environment variables and command-line flags, in rising order of
// precedence over built-in defaults. Every value remembers where it came
// from, so `tiski config show` can say.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// FileName is the configuration file's name inside the data folder.
const FileName = "config.toml"

// Source says where a value came from.
type Source string

// Sources, from lowest to highest precedence.
const (
	FromDefault Source = "default"
	FromFile    Source = "file"
	FromEnv     Source = "env"
	FromFlag    Source = "flag"
)

// Centre is how to reach the Prescription Centre.
type Centre struct {
	URL            string
	CertFile       string // client certificate (mutual TLS)
	KeyFile        string // its private key
	CAFile         string // the private CA bundle; never the system roots
	ServerName     string // expected name on the server certificate
	ConnectTimeout time.Duration
	Timeout        time.Duration
}

// Hub is how a counter reaches the pharmacy's hub (issue 19); no URL: no
// hub, the counter works alone.
type Hub struct {
	URL      string // nats://HOST:PORT, several separated by commas for a cluster
	CertFile string // TLS client certificate, for a hub beyond loopback
	KeyFile  string // its private key
	CAFile   string // the CA that signs the hub's certificate
	NKeySeed string // an NKey seed file, the other way a hub may ask a counter to prove itself
}

// Probe is the health probe of the mode machine.
type Probe struct {
	Interval      time.Duration
	FaultInterval time.Duration // mean time between probes in FAULT
	Timeout       time.Duration
	// ConnectTimeout bounds a probe's fresh connection (TCP and TLS
	// handshake): past it nothing answers, and the probe fails at once.
	ConnectTimeout time.Duration
	RecoverAfter   int // consecutive successful probes from RECOVERING to ONLINE
}

// FaultDesk is who reports a fault to Kela and how Kela's technical
// support is reached (issue 22; `tiski fault report`). Kela's contact
// details default to the values Kanta publishes on its page on reporting
// faults; the reporter's are the pharmacy's own.
type FaultDesk struct {
	Reporter      string // the person or helpdesk who sends the report
	ReporterPhone string
	ReporterEmail string
	KelaEmail     string // where the fault report form goes (as an attachment)
	KelaPhone     string // where a critical or wide fault is also phoned in
}

// Sync configures reconciliation (queue/): how records go upstream.
type Sync struct {
	Concurrency     int           // records uploaded in parallel
	InitialInterval time.Duration // first backoff after a transient failure
	MaxInterval     time.Duration // longest backoff
	Multiplier      float64       // backoff growth per attempt
	Rate            float64       // requests a second to the Prescription Centre, per client
	Lease           time.Duration // how long a record is held by a sender before another may take it
	DuplicateWindow time.Duration // a paper or telephone prescription this close to a matching e-prescription is a possible duplicate
}

// Config is the effective configuration.
type Config struct {
	DataDir   string
	Language  string // fi, sv or en
	Terminal  string // this counter's id, recorded on every journal record
	Pharmacy  rx.Pharmacy
	Centre    Centre
	Hub       Hub
	Probe     Probe
	Sync      Sync
	Fault     FaultDesk
	Policy    string        // a policy override file; "" means the built-in policy
	LockAfter time.Duration // the counter locks after this much inactivity
	LogFile   string

	sources map[string]Source
	file    string
}

// Source returns where the value of key (as in the file, "centre.url")
// came from.
func (c *Config) Source(key string) Source { return c.sources[key] }

// File is the configuration file that was read, or would be.
func (c *Config) File() string { return c.file }

// JournalPath is the journal file in the data folder.
func (c *Config) JournalPath() string { return filepath.Join(c.DataDir, "journal.db") }

// setting is one configuration key: its file key, environment variable,
// default, and how to set and show it.
type setting struct {
	key  string
	env  string
	def  string
	help string
	set  func(c *Config, v string) error
	get  func(c *Config) string
}

func durationSetting(key, def, help string, p func(c *Config) *time.Duration) setting {
	return setting{key: key, def: def, help: help,
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("%q is not a positive duration such as 2s or 15m", v)
			}
			*p(c) = d
			return nil
		},
		get: func(c *Config) string { return p(c).String() },
	}
}

func stringSetting(key, def, help string, p func(c *Config) *string, check func(string) error) setting {
	return setting{key: key, def: def, help: help,
		set: func(c *Config, v string) error {
			if check != nil {
				if err := check(v); err != nil {
					return err
				}
			}
			*p(c) = v
			return nil
		},
		get: func(c *Config) string { return *p(c) },
	}
}

var settings = []setting{
	stringSetting("language", "fi", "language of the counter: fi, sv or en", func(c *Config) *string { return &c.Language },
		func(v string) error {
			if v != "fi" && v != "sv" && v != "en" {
				return fmt.Errorf("%q is not one of fi, sv, en", v)
			}
			return nil
		}),
	stringSetting("terminal", defaultTerminal(), "this counter's id, recorded on every journal record", func(c *Config) *string { return &c.Terminal },
		func(v string) error {
			if strings.TrimSpace(v) == "" {
				return errors.New("must not be empty")
			}
			return nil
		}),
	stringSetting("pharmacy.name", "", "the pharmacy's name", func(c *Config) *string { return &c.Pharmacy.Name }, nil),
	stringSetting("pharmacy.oid", "", "the pharmacy's organisation OID, e.g. 1.2.246.10.12345678.10.0", func(c *Config) *string { return &c.Pharmacy.OID },
		func(v string) error {
			if v == "" {
				return nil // unset: tiski runs, but records nothing until it is set (rx.Pharmacy.Check)
			}
			if err := rx.CheckOID(v); err != nil {
				return errors.New(rx.ErrorMessage(err))
			}
			return nil
		}),
	stringSetting("centre.url", "", "the Prescription Centre's FHIR base URL", func(c *Config) *string { return &c.Centre.URL },
		func(v string) error {
			if v == "" {
				return nil
			}
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("%q is not an http:// or https:// URL", v)
			}
			return nil
		}),
	stringSetting("centre.cert", "", "client certificate file (PEM) for mutual TLS", func(c *Config) *string { return &c.Centre.CertFile }, nil),
	stringSetting("centre.key", "", "the client certificate's private key file (PEM)", func(c *Config) *string { return &c.Centre.KeyFile }, nil),
	stringSetting("centre.ca", "", "CA bundle (PEM) that signs the Prescription Centre's certificate", func(c *Config) *string { return &c.Centre.CAFile }, nil),
	stringSetting("centre.server_name", "", "the name expected on the server certificate", func(c *Config) *string { return &c.Centre.ServerName }, nil),
	stringSetting("hub.url", "", "the pharmacy's hub, nats://HOST:PORT (several, comma-separated, for a cluster); unset: this counter works alone", func(c *Config) *string { return &c.Hub.URL },
		func(v string) error {
			for _, one := range strings.Split(v, ",") {
				one = strings.TrimSpace(one)
				if v == "" {
					return nil
				}
				u, err := url.Parse(one)
				if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" || u.Port() == "" {
					return fmt.Errorf("%q is not a nats://HOST:PORT or tls://HOST:PORT URL", one)
				}
			}
			return nil
		}),
	stringSetting("hub.cert", "", "TLS client certificate (PEM) this counter shows a hub beyond loopback", func(c *Config) *string { return &c.Hub.CertFile }, nil),
	stringSetting("hub.key", "", "the hub client certificate's private key (PEM)", func(c *Config) *string { return &c.Hub.KeyFile }, nil),
	stringSetting("hub.ca", "", "CA bundle (PEM) that signs the hub's certificate", func(c *Config) *string { return &c.Hub.CAFile }, nil),
	stringSetting("hub.nkey_seed", "", "NKey seed file this counter signs in to the hub with", func(c *Config) *string { return &c.Hub.NKeySeed }, nil),
	durationSetting("centre.connect_timeout", "3s", "time allowed to connect", func(c *Config) *time.Duration { return &c.Centre.ConnectTimeout }),
	durationSetting("centre.timeout", "10s", "time allowed for a whole call", func(c *Config) *time.Duration { return &c.Centre.Timeout }),
	durationSetting("probe.interval", "750ms", "time between health probes (a refused connection is FAULT within it; a black hole, where even the connect gets no answer, within it + 0.4s)", func(c *Config) *time.Duration { return &c.Probe.Interval }),
	durationSetting("probe.fault_interval", "10s", "mean time between health probes in FAULT, each wait drawn from half to 1.5 times it, so pharmacies do not all see the recovery, and reconnect, in the same second", func(c *Config) *time.Duration { return &c.Probe.FaultInterval }),
	durationSetting("probe.connect_timeout", "400ms", "time a health probe may take to connect (TCP and TLS handshake); past it nothing answers, a black hole rather than a slow service", func(c *Config) *time.Duration { return &c.Probe.ConnectTimeout }),
	durationSetting("probe.timeout", "2s", "time a health probe that connected may wait for its answer (a slow service within it is not a fault)", func(c *Config) *time.Duration { return &c.Probe.Timeout }),
	{key: "probe.recover_after", def: "3", help: "successful probes in a row from RECOVERING to ONLINE",
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("%q is not a whole number of at least 1", v)
			}
			c.Probe.RecoverAfter = n
			return nil
		},
		get: func(c *Config) string { return strconv.Itoa(c.Probe.RecoverAfter) }},
	{key: "sync.concurrency", def: "4", help: "records uploaded in parallel",
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 256 {
				return fmt.Errorf("%q is not a whole number from 1 to 256", v)
			}
			c.Sync.Concurrency = n
			return nil
		},
		get: func(c *Config) string { return strconv.Itoa(c.Sync.Concurrency) }},
	durationSetting("sync.initial_interval", "1s", "first wait after a failed upload (exponential backoff with full jitter)", func(c *Config) *time.Duration { return &c.Sync.InitialInterval }),
	durationSetting("sync.max_interval", "5m", "longest wait between upload attempts of one record", func(c *Config) *time.Duration { return &c.Sync.MaxInterval }),
	{key: "sync.multiplier", def: "2", help: "backoff growth per attempt (at least 1)",
		set: func(c *Config, v string) error {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || x < 1 || x > 10 {
				return fmt.Errorf("%q is not a number from 1 to 10", v)
			}
			c.Sync.Multiplier = x
			return nil
		},
		get: func(c *Config) string { return strconv.FormatFloat(c.Sync.Multiplier, 'g', -1, 64) }},
	{key: "sync.rate", def: "20", help: "requests a second to the Prescription Centre from this client",
		set: func(c *Config, v string) error {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || x <= 0 || x > 100000 {
				return fmt.Errorf("%q is not a positive number of requests a second", v)
			}
			c.Sync.Rate = x
			return nil
		},
		get: func(c *Config) string { return strconv.FormatFloat(c.Sync.Rate, 'g', -1, 64) }},
	durationSetting("sync.lease", "2m", "how long an upload holds a record before another sender may take it over", func(c *Config) *time.Duration { return &c.Sync.Lease }),
	durationSetting("sync.duplicate_window", "168h", "a paper or telephone prescription issued this close to an e-prescription with the same ATC code and prescriber is held as a possible duplicate", func(c *Config) *time.Duration { return &c.Sync.DuplicateWindow }),
	stringSetting("fault.reporter", "", "who reports a fault to Kela's technical support: the helpdesk or person named on the fault report", func(c *Config) *string { return &c.Fault.Reporter }, nil),
	stringSetting("fault.reporter_phone", "", "the reporter's telephone number, for the fault report", func(c *Config) *string { return &c.Fault.ReporterPhone }, nil),
	stringSetting("fault.reporter_email", "", "the reporter's e-mail address, for the fault report", func(c *Config) *string { return &c.Fault.ReporterEmail }, nil),
	stringSetting("fault.kela_email", "tekninentuki@kanta.fi", "Kela's technical support: where the fault report form is sent as an e-mail attachment", func(c *Config) *string { return &c.Fault.KelaEmail }, nil),
	stringSetting("fault.kela_phone", "020 634 7787", "Kela's technical support by telephone: a critical or wide fault is also phoned in", func(c *Config) *string { return &c.Fault.KelaPhone }, nil),
	stringSetting("policy", "", "a fault-mode policy file overriding the built-in policy", func(c *Config) *string { return &c.Policy }, nil),
	durationSetting("session.lock_after", "15m", "inactivity after which the counter locks", func(c *Config) *time.Duration { return &c.LockAfter }),
	stringSetting("log_file", "", "log file (default: tiski.log in the data folder)", func(c *Config) *string { return &c.LogFile }, nil),
}

func init() {
	for i := range settings {
		settings[i].env = "TISKI_" + strings.ToUpper(strings.NewReplacer(".", "_").Replace(settings[i].key))
		if settings[i].key == "language" {
			settings[i].env = "TISKI_LANG" // the name DESIGN §7 gives
		}
	}
}

// envAliases are extra environment variables for a key, checked after the
// main one.
var envAliases = map[string][]string{"language": {"TISKI_LANGUAGE"}}

// Keys lists every configuration key with its environment variable and help.
func Keys() [][3]string {
	out := make([][3]string, len(settings))
	for i, s := range settings {
		out[i] = [3]string{s.key, s.env, s.help}
	}
	return out
}

// Load builds the effective configuration. dataDir is the --data flag ("" if
// not given); flags are other flag values by key (e.g. "centre.url"); getenv
// reads the environment (os.Getenv in production).
func Load(dataDir string, flags map[string]string, getenv func(string) string) (*Config, error) {
	c := &Config{sources: map[string]Source{}}
	switch {
	case dataDir != "":
		c.DataDir, c.sources["data"] = dataDir, FromFlag
	case getenv("TISKI_DATA") != "":
		c.DataDir, c.sources["data"] = getenv("TISKI_DATA"), FromEnv
	default:
		d, err := DefaultDataDir()
		if err != nil {
			return nil, err
		}
		c.DataDir, c.sources["data"] = d, FromDefault
	}
	c.file = filepath.Join(c.DataDir, FileName)

	for _, s := range settings {
		if err := s.set(c, s.def); err != nil {
			return nil, fmt.Errorf("default %s: %w", s.key, err) // a bug in the table above
		}
		c.sources[s.key] = FromDefault
	}
	fileValues, err := readFile(c.file)
	if err != nil {
		return nil, err
	}
	var problems []string
	apply := func(s setting, v string, src Source, where string) {
		if err := s.set(c, v); err != nil {
			problems = append(problems, fmt.Sprintf("%s (%s): %v", s.key, where, err))
			return
		}
		c.sources[s.key] = src
	}
	for _, s := range settings {
		if v, ok := fileValues[s.key]; ok {
			apply(s, v, FromFile, c.file)
		}
		for _, name := range append([]string{s.env}, envAliases[s.key]...) {
			if v := getenv(name); v != "" {
				apply(s, v, FromEnv, "environment variable "+name)
				break
			}
		}
		if v, ok := flags[s.key]; ok {
			apply(s, v, FromFlag, "flag")
		}
	}
	for key := range flags {
		if lookup(key) == nil {
			problems = append(problems, fmt.Sprintf("%s: no such configuration key", key))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("configuration is invalid:\n  %s", strings.Join(problems, "\n  "))
	}
	if c.LogFile == "" {
		c.LogFile = filepath.Join(c.DataDir, "tiski.log")
	}
	return c, nil
}

func lookup(key string) *setting {
	for i := range settings {
		if settings[i].key == key {
			return &settings[i]
		}
	}
	return nil
}

// readFile reads the TOML file into flat "section.key" values. A missing
// file is no error; an unknown key is, and is named.
func readFile(path string) (map[string]string, error) {
	raw := map[string]any{}
	if _, err := toml.DecodeFile(path, &raw); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return map[string]string{}, nil
		}
		return nil, fmt.Errorf("read configuration %s: %w", path, err)
	}
	out := map[string]string{}
	var unknown []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			key := prefix + k
			if sub, ok := v.(map[string]any); ok {
				walk(key+".", sub)
				continue
			}
			if lookup(key) == nil {
				unknown = append(unknown, key)
				continue
			}
			switch v := v.(type) {
			case string:
				out[key] = v
			case int64:
				out[key] = strconv.FormatInt(v, 10)
			default:
				unknown = append(unknown, fmt.Sprintf("%s (a %T; give a string or a whole number)", key, v))
			}
		}
	}
	walk("", raw)
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("configuration %s has unknown keys: %s (see 'tiski config show' for the known ones)", path, strings.Join(unknown, ", "))
	}
	return out, nil
}

// DefaultDataDir is the per-user data folder: $XDG_DATA_HOME/tiski or
// ~/.local/share/tiski on Linux, ~/Library/Application Support/tiski on
// macOS, %LocalAppData%\tiski on Windows.
func DefaultDataDir() (string, error) {
	switch runtime.GOOS {
	case "windows":
		if d := os.Getenv("LocalAppData"); d != "" {
			return filepath.Join(d, "tiski"), nil
		}
	case "darwin":
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the data folder: %w (set --data or TISKI_DATA)", err)
		}
		return filepath.Join(home, "Library", "Application Support", "tiski"), nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "tiski"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the data folder: %w (set --data or TISKI_DATA)", err)
	}
	return filepath.Join(home, ".local", "share", "tiski"), nil
}

func defaultTerminal() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "counter"
}

// Entry is one effective value and where it came from, for display.
type Entry struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source Source `json:"source"`
	Env    string `json:"env"`
	Help   string `json:"help"`
}

// Entries lists every effective value, the data folder first.
func (c *Config) Entries() []Entry {
	out := []Entry{{Key: "data", Value: c.DataDir, Source: c.sources["data"], Env: "TISKI_DATA", Help: "the data folder: journal, configuration and logs"}}
	for _, s := range settings {
		out = append(out, Entry{Key: s.key, Value: s.get(c), Source: c.sources[s.key], Env: s.env, Help: s.help})
	}
	return out
}

// PharmacyHelp says how to set the pharmacy's identity, for a message
// that refuses to record without it: the keys in the configuration file
// (named), and the environment variables that override them. One line.
func (c *Config) PharmacyHelp() string {
	env := func(key string) string { return lookup(key).env }
	return fmt.Sprintf("Set them in %s under [pharmacy]: oid = \"1.2.246.10.12345678.10.0\" (the pharmacy's organisation OID) and name = \"Apteekki Esimerkki\"; or in the environment variables %s and %s.",
		c.File(), env("pharmacy.oid"), env("pharmacy.name"))
}
