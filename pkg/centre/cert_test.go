package centre

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/centresim"
)

// TestCertificates covers the service certificate's life: refused when
// expired or not yet valid, the server's refusal when one is forced
// through, a server the CA bundle does not vouch for, and Reload.
func TestCertificates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	expiredAt := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	expiredDir := mtlsDir(t, centresim.CertOptions{ClientNotAfter: expiredAt})
	goodDir := mtlsDir(t, centresim.CertOptions{})
	otherDir := mtlsDir(t, centresim.CertOptions{})

	t.Run("New refuses an expired certificate", func(t *testing.T) {
		_, err := New(Config{BaseURL: "https://127.0.0.1:1", TLS: tlsFiles(expiredDir)})
		if err == nil {
			t.Fatal("loaded an expired certificate")
		}
		for _, s := range []string{"expired on " + expiredAt.UTC().Format("2 January 2006"), "client.crt", "renewed certificate", "reload"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("message %q lacks %q", err, s)
			}
		}
		t.Log(err)
	})
	t.Run("New refuses a certificate not yet valid", func(t *testing.T) {
		_, err := New(Config{BaseURL: "https://127.0.0.1:1", TLS: tlsFiles(goodDir), Now: func() time.Time { return time.Now().AddDate(0, -1, 0) }})
		if err == nil || !strings.Contains(err.Error(), "not valid until") || !strings.Contains(err.Error(), "clock") {
			t.Fatalf("got %v", err)
		}
		t.Log(err)
	})
	t.Run("a forced expired certificate is refused by the server", func(t *testing.T) {
		srv := startSim(t, expiredDir)
		c := newClient(t, Config{BaseURL: srv.URL(), TLS: tlsFiles(expiredDir), AllowInvalidCertificate: true})
		if exp, ok := c.CertificateExpiry(); !ok || !exp.Before(time.Now()) {
			t.Errorf("expiry %v %v", exp, ok)
		}
		_, err := c.FindPatient(ctx, testHETU)
		var ce *Error
		if !errors.As(err, &ce) || ce.Class != Transient || !errors.Is(err, ErrCertificate) || ce.Status != 0 {
			t.Fatalf("got %v", err)
		}
		if !strings.Contains(err.Error(), "client certificate") {
			t.Errorf("message %q does not point at the client certificate", err)
		}
		t.Log(err)
	})
	t.Run("a server the CA bundle does not vouch for", func(t *testing.T) {
		srv := startSim(t, goodDir)
		files := tlsFiles(goodDir)
		files.CAFile = filepath.Join(otherDir, "ca.crt")
		c := newClient(t, Config{BaseURL: srv.URL(), TLS: files})
		err := c.Probe(ctx)
		if ClassOf(err) != Transient || !errors.Is(err, ErrCertificate) || !strings.Contains(err.Error(), "server's certificate") {
			t.Fatalf("got %v", err)
		}
		t.Log(err)
	})
	t.Run("a plain client to a TLS server", func(t *testing.T) {
		srv := startSim(t, goodDir)
		c := newClient(t, Config{BaseURL: strings.Replace(srv.URL(), "https://", "http://", 1), Timeout: 2 * time.Second})
		err := c.Probe(ctx)
		if err == nil {
			t.Fatal("probe succeeded")
		}
		t.Log(err)
	})
	t.Run("Reload swaps the certificate without a restart", func(t *testing.T) {
		srv := startSim(t, goodDir)
		live := t.TempDir()
		install := func(from string, names ...string) {
			t.Helper()
			for _, n := range names {
				b, err := os.ReadFile(filepath.Join(from, n))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(live, n), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
		install(goodDir, "ca.crt", "client.crt", "client.key")
		c := newClient(t, Config{BaseURL: srv.URL(), TLS: tlsFiles(live)})
		if err := c.Probe(ctx); err != nil {
			t.Fatal(err)
		}
		goodExpiry, _ := c.CertificateExpiry()

		// A client certificate of another CA: the server refuses it.
		install(otherDir, "client.crt", "client.key")
		if err := c.Reload(); err != nil {
			t.Fatal(err)
		}
		if err := c.Probe(ctx); !errors.Is(err, ErrCertificate) {
			t.Errorf("with a foreign certificate: %v", err)
		}

		// An expired one is not loaded; the one in use stays.
		install(expiredDir, "client.crt", "client.key")
		if err := c.Reload(); err == nil || !strings.Contains(err.Error(), "expired on") {
			t.Errorf("reload of an expired certificate: %v", err)
		}

		install(goodDir, "client.crt", "client.key")
		if err := c.Reload(); err != nil {
			t.Fatal(err)
		}
		if err := c.Probe(ctx); err != nil {
			t.Errorf("after reloading the good certificate: %v", err)
		}
		if exp, _ := c.CertificateExpiry(); !exp.Equal(goodExpiry) {
			t.Errorf("expiry %v, want %v", exp, goodExpiry)
		}
	})
	t.Run("configuration mistakes", func(t *testing.T) {
		tests := []struct {
			name string
			tls  *TLSConfig
			want string
		}{
			{"certificate without key", &TLSConfig{CAFile: filepath.Join(goodDir, "ca.crt"), CertFile: filepath.Join(goodDir, "client.crt")}, "both"},
			{"key of another certificate", &TLSConfig{CAFile: filepath.Join(goodDir, "ca.crt"), CertFile: filepath.Join(goodDir, "client.crt"), KeyFile: filepath.Join(otherDir, "client.key")}, "load client certificate"},
			{"CA file without a certificate", &TLSConfig{CAFile: filepath.Join(goodDir, "client.key")}, "holds no PEM certificate"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := New(Config{BaseURL: "https://127.0.0.1:1", TLS: tt.tls})
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got %v, want an error about %q", err, tt.want)
				}
			})
		}
	})
}
