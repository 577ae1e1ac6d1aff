package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/centresim"
)

func writeConfig(t *testing.T, dir, text string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func doctorFindings(t *testing.T, r tiskiRun) (map[string]Finding, int) {
	t.Helper()
	out, code := r.run("", "doctor", "--json")
	var list []Finding
	// The output is the JSON list, then the failure summary on stderr.
	if err := json.NewDecoder(strings.NewReader(out)).Decode(&list); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, out)
	}
	m := map[string]Finding{}
	for _, f := range list {
		m[f.Name] = f
	}
	return m, code
}

// Finding mirrors a doctor check in its JSON form.
type Finding struct {
	Name, Status, Detail string
}

func TestDoctor(t *testing.T) {
	ctx := context.Background()
	certs := t.TempDir()
	now := time.Now()
	if err := centresim.WriteCerts(certs, centresim.CertOptions{ClientNotAfter: now.AddDate(0, 0, 10)}); err != nil {
		t.Fatal(err)
	}
	srv, err := centresim.Start(ctx, centresim.Config{DataDir: t.TempDir(), TLSDir: certs})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// The client certificate comes from dir; the CA bundle is always the
	// simulator's own.
	tlsConfig := func(url, dir string) string {
		return fmt.Sprintf("[pharmacy]\nname = \"Apteekki Tiski\"\noid = \"1.2.246.10.12345678.10.0\"\n[centre]\nurl = %q\ncert = %q\nkey = %q\nca = %q\ntimeout = \"3s\"\nconnect_timeout = \"1s\"\n",
			url, filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key"), filepath.Join(certs, "ca.crt"))
	}

	t.Run("healthy over mutual TLS, certificate expiring soon", func(t *testing.T) {
		r := tiskiRun{t: t, data: t.TempDir()}
		writeConfig(t, r.data, tlsConfig(srv.URL(), certs))
		got, code := doctorFindings(t, r)
		if code != 0 {
			t.Fatalf("exit %d: %v", code, got)
		}
		for _, name := range []string{"configuration", "certificates", "dns", "tcp", "tls", "prescription centre", "disk"} {
			if got[name].Status != "ok" {
				t.Errorf("%s: %+v", name, got[name])
			}
		}
		if f := got["certificate expiry"]; f.Status != "warn" || !strings.Contains(f.Detail, "expires in 9 days") && !strings.Contains(f.Detail, "expires in 10 days") {
			t.Errorf("certificate expiry: %+v", f)
		}
	})

	t.Run("expired client certificate", func(t *testing.T) {
		expired := t.TempDir()
		if err := centresim.WriteCerts(expired, centresim.CertOptions{ClientNotAfter: now.AddDate(0, 0, -3)}); err != nil {
			t.Fatal(err)
		}
		r := tiskiRun{t: t, data: t.TempDir()}
		writeConfig(t, r.data, tlsConfig(srv.URL(), expired))
		got, code := doctorFindings(t, r)
		if code != 1 {
			t.Fatalf("exit %d", code)
		}
		if f := got["certificate expiry"]; f.Status != "fail" || !strings.Contains(f.Detail, "expired on "+now.AddDate(0, 0, -3).Format("2006-01-02")) || !strings.Contains(f.Detail, "order a new") {
			t.Errorf("certificate expiry: %+v", f)
		}
	})

	t.Run("nothing listens", func(t *testing.T) {
		r := tiskiRun{t: t, data: t.TempDir()}
		writeConfig(t, r.data, "[centre]\nurl = \"http://127.0.0.1:1\"\nconnect_timeout = \"1s\"\ntimeout = \"2s\"\n")
		got, code := doctorFindings(t, r)
		if code != 1 || got["dns"].Status != "ok" || got["tcp"].Status != "fail" || !strings.Contains(got["tcp"].Detail, "cannot connect") {
			t.Fatalf("exit %d: %+v", code, got)
		}
		if got["certificates"].Status != "skip" || got["configuration"].Status != "warn" {
			t.Errorf("certificates %+v, configuration %+v", got["certificates"], got["configuration"])
		}
	})

	t.Run("unknown host", func(t *testing.T) {
		r := tiskiRun{t: t, data: t.TempDir()}
		writeConfig(t, r.data, "[centre]\nurl = \"http://no-such-host.invalid:8080\"\nconnect_timeout = \"1s\"\n")
		got, code := doctorFindings(t, r)
		if code != 1 || got["dns"].Status != "fail" || !strings.Contains(got["dns"].Detail, "cannot resolve no-such-host.invalid") {
			t.Fatalf("exit %d: %+v", code, got["dns"])
		}
	})

	t.Run("journal with records waiting", func(t *testing.T) {
		r := tiskiRun{t: t, data: t.TempDir()}
		writeConfig(t, r.data, "[pharmacy]\nname = \"Apteekki Tiski\"\noid = \"1.2.246.10.12345678.10.0\"\n[centre]\nurl = \"http://127.0.0.1:1\"\nconnect_timeout = \"1s\"\n")
		r.ok("4711\n", "users", "add", "aino", "--name", "Aino Virtanen", "--role", "pharmacist", "--registration", "10100012345")
		r.fixtureCatalogue()
		tiskiRun{t: t, data: r.data, env: []string{"TISKI_PIN=4711"}}.ok("", "record", "paper", "--from", "testdata/records/paper.json", "--user", "aino")
		got, _ := doctorFindings(t, r)
		if got["journal"].Status != "ok" || got["queue"].Status != "ok" || !strings.Contains(got["queue"].Detail, "2 record(s) waiting") {
			t.Fatalf("journal %+v queue %+v", got["journal"], got["queue"])
		}
	})
}
