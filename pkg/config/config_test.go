package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func writeConfig(t *testing.T, dir, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestDefaults(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(dir, nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Language != "fi" || c.Probe.Interval != 750*time.Millisecond || c.Probe.Timeout != 2*time.Second || c.Probe.ConnectTimeout != 400*time.Millisecond || c.LockAfter != 15*time.Minute || c.Probe.RecoverAfter != 3 {
		t.Fatalf("defaults: %+v", c)
	}
	if c.Source("language") != FromDefault || c.Source("data") != FromFlag {
		t.Fatalf("sources: language %s, data %s", c.Source("language"), c.Source("data"))
	}
	if c.JournalPath() != filepath.Join(dir, "journal.db") || c.LogFile != filepath.Join(dir, "tiski.log") {
		t.Fatalf("paths: %s %s", c.JournalPath(), c.LogFile)
	}
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	writeConfig(t, dir, `
language = "sv"
terminal = "kassa-1"
[pharmacy]
name = "Apteekki Tiski"
oid = "1.2.246.10.12345678.10.0"
[centre]
url = "https://file.example:8443"
timeout = "20s"
[probe]
recover_after = 5
`)
	tests := []struct {
		name       string
		env        map[string]string
		flags      map[string]string
		wantURL    string
		wantSource Source
		wantLang   string
	}{
		{"file over default", nil, nil, "https://file.example:8443", FromFile, "sv"},
		{"env over file", map[string]string{"TISKI_CENTRE_URL": "http://127.0.0.1:9000"}, nil, "http://127.0.0.1:9000", FromEnv, "sv"},
		{"flag over env", map[string]string{"TISKI_CENTRE_URL": "http://127.0.0.1:9000"}, map[string]string{"centre.url": "http://127.0.0.1:9100"}, "http://127.0.0.1:9100", FromFlag, "sv"},
		{"TISKI_LANG alias", map[string]string{"TISKI_LANG": "en"}, nil, "https://file.example:8443", FromFile, "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(dir, tt.flags, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.Centre.URL != tt.wantURL || c.Source("centre.url") != tt.wantSource || c.Language != tt.wantLang {
				t.Fatalf("url %s (%s), language %s", c.Centre.URL, c.Source("centre.url"), c.Language)
			}
			if c.Terminal != "kassa-1" || c.Pharmacy.Name != "Apteekki Tiski" || c.Centre.Timeout != 20*time.Second || c.Probe.RecoverAfter != 5 {
				t.Fatalf("file values not applied: %+v", c)
			}
		})
	}
}

func TestDataFolder(t *testing.T) {
	c, err := Load("", nil, env(map[string]string{"TISKI_DATA": "/srv/tiski"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/srv/tiski" || c.Source("data") != FromEnv {
		t.Fatalf("data %s from %s", c.DataDir, c.Source("data"))
	}
	c, err = Load("", nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(c.DataDir, "tiski") || c.Source("data") != FromDefault {
		t.Fatalf("default data %s from %s", c.DataDir, c.Source("data"))
	}
}

func TestRejects(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		env   map[string]string
		flags map[string]string
		want  []string
	}{
		{"unknown keys are named", "colour = \"red\"\n[centre]\nurl = \"http://127.0.0.1:1\"\nretries = 3\n", nil, nil, []string{"unknown keys", "centre.retries", "colour"}},
		{"unknown section key", "[printer]\nname = \"x\"\n", nil, nil, []string{"printer.name"}},
		{"bad language", "language = \"de\"\n", nil, nil, []string{"language", "not one of fi, sv, en"}},
		{"bad duration from env", "", map[string]string{"TISKI_PROBE_INTERVAL": "soon"}, nil, []string{"probe.interval", "TISKI_PROBE_INTERVAL", "positive duration"}},
		{"negative duration", "[probe]\ntimeout = \"-1s\"\n", nil, nil, []string{"probe.timeout"}},
		{"bad url", "[centre]\nurl = \"ftp://x\"\n", nil, nil, []string{"centre.url", "http:// or https://"}},
		{"bad oid", "[pharmacy]\noid = \"apteekki\"\n", nil, nil, []string{"pharmacy.oid", "not an OID"}},
		{"zero recover_after", "[probe]\nrecover_after = 0\n", nil, nil, []string{"probe.recover_after"}},
		{"wrong type", "[probe]\nrecover_after = true\n", nil, nil, []string{"probe.recover_after"}},
		{"malformed TOML", "language = \n", nil, nil, []string{"read configuration"}},
		{"unknown flag key", "", nil, map[string]string{"centre.nope": "1"}, []string{"centre.nope", "no such configuration key"}},
		{"every problem at once", "language = \"de\"\n[probe]\ninterval = \"x\"\n", nil, nil, []string{"language", "probe.interval"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeConfig(t, dir, tt.file)
			_, err := Load(dir, tt.flags, env(tt.env))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestEntries(t *testing.T) {
	dir := t.TempDir()
	writeConfig(t, dir, "terminal = \"kassa-2\"\n")
	c, err := Load(dir, nil, env(map[string]string{"TISKI_LANG": "sv"}))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Entry{}
	for _, e := range c.Entries() {
		got[e.Key] = e
	}
	if len(got) != len(settings)+1 {
		t.Fatalf("%d entries for %d settings", len(got), len(settings))
	}
	if e := got["terminal"]; e.Value != "kassa-2" || e.Source != FromFile {
		t.Fatalf("terminal %+v", e)
	}
	if e := got["language"]; e.Value != "sv" || e.Source != FromEnv {
		t.Fatalf("language %+v", e)
	}
	if e := got["data"]; e.Value != dir || e.Source != FromFlag {
		t.Fatalf("data %+v", e)
	}
}

func TestSyncSettings(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		c, err := Load(t.TempDir(), nil, env(nil))
		if err != nil {
			t.Fatal(err)
		}
		want := Sync{Concurrency: 4, InitialInterval: time.Second, MaxInterval: 5 * time.Minute, Multiplier: 2, Rate: 20,
			Lease: 2 * time.Minute, DuplicateWindow: 7 * 24 * time.Hour}
		if c.Sync != want {
			t.Fatalf("sync defaults %+v, want %+v", c.Sync, want)
		}
	})
	t.Run("file, env and flag", func(t *testing.T) {
		dir := t.TempDir()
		writeConfig(t, dir, "[sync]\nconcurrency = 8\nmultiplier = \"1.5\"\nduplicate_window = \"72h\"\n")
		c, err := Load(dir, map[string]string{"sync.lease": "30s"}, env(map[string]string{"TISKI_SYNC_RATE": "2.5", "TISKI_SYNC_MAX_INTERVAL": "1m"}))
		if err != nil {
			t.Fatal(err)
		}
		want := Sync{Concurrency: 8, InitialInterval: time.Second, MaxInterval: time.Minute, Multiplier: 1.5, Rate: 2.5,
			Lease: 30 * time.Second, DuplicateWindow: 72 * time.Hour}
		if c.Sync != want {
			t.Fatalf("sync %+v, want %+v", c.Sync, want)
		}
		if c.Source("sync.concurrency") != FromFile || c.Source("sync.rate") != FromEnv || c.Source("sync.lease") != FromFlag {
			t.Fatalf("sources %s %s %s", c.Source("sync.concurrency"), c.Source("sync.rate"), c.Source("sync.lease"))
		}
	})
	for _, tt := range []struct{ name, file, want string }{
		{"zero concurrency", "[sync]\nconcurrency = 0\n", "sync.concurrency"},
		{"multiplier below one", "[sync]\nmultiplier = \"0.5\"\n", "sync.multiplier"},
		{"negative rate", "[sync]\nrate = \"-1\"\n", "sync.rate"},
		{"bad lease", "[sync]\nlease = \"forever\"\n", "sync.lease"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeConfig(t, dir, tt.file)
			if _, err := Load(dir, nil, env(nil)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
}
