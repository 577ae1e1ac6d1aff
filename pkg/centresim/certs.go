package centresim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// CertOptions shape the throwaway certificates of WriteCerts.
type CertOptions struct {
	Hosts          []string         // extra server names or IPs; 127.0.0.1 and localhost are always included
	Now            func() time.Time // nil: time.Now
	ClientNotAfter time.Time        // zero: one year from now; in the past makes an expired client certificate
	ServerNotAfter time.Time        // zero: one year from now
}

// WriteCerts writes a throwaway CA (ca.crt, ca.key), a server certificate
// for 127.0.0.1 and localhost (server.crt, server.key) and a client
// certificate (client.crt, client.key), all ECDSA P-256 and signed by the
// CA, into dir (created 0700). Keys are written 0600. They are for tests
// and drills, never for a real service.
func WriteCerts(dir string, opts CertOptions) error {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	t := now()
	yearOn := t.AddDate(1, 0, 0)
	if opts.ClientNotAfter.IsZero() {
		opts.ClientNotAfter = yearOn
	}
	if opts.ServerNotAfter.IsZero() {
		opts.ServerNotAfter = yearOn
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write certificates: %w", err)
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("write certificates: %w", err)
	}
	caTmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "tiski simulator test CA", Organization: []string{"tiski (test only)"}},
		NotBefore:             t.Add(-time.Hour),
		NotAfter:              t.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	caDER, caCert, err := sign(caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("write certificates: CA: %w", err)
	}
	if err := writePair(dir, "ca", caDER, caKey); err != nil {
		return err
	}

	hosts := append([]string{"127.0.0.1", "localhost"}, opts.Hosts...)
	serverTmpl := leaf("tiski simulator", t, opts.ServerNotAfter, x509.ExtKeyUsageServerAuth)
	seen := map[string]bool{}
	for _, h := range hosts {
		if seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			serverTmpl.IPAddresses = append(serverTmpl.IPAddresses, ip)
		} else {
			serverTmpl.DNSNames = append(serverTmpl.DNSNames, h)
		}
	}
	for _, c := range []struct {
		name string
		tmpl *x509.Certificate
	}{
		{"server", serverTmpl},
		{"client", leaf("tiski test pharmacy", t, opts.ClientNotAfter, x509.ExtKeyUsageClientAuth)},
	} {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return fmt.Errorf("write certificates: %w", err)
		}
		der, _, err := sign(c.tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return fmt.Errorf("write certificates: %s: %w", c.name, err)
		}
		if err := writePair(dir, c.name, der, key); err != nil {
			return err
		}
	}
	return nil
}

// leaf is the template of a server or client certificate. A notAfter in the
// past still gets a notBefore before it, so the certificate is well formed
// but expired.
func leaf(cn string, now, notAfter time.Time, usage x509.ExtKeyUsage) *x509.Certificate {
	notBefore := now.Add(-time.Hour)
	if !notBefore.Before(notAfter) {
		notBefore = notAfter.AddDate(0, 0, -30)
	}
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: []string{"tiski (test only)"}},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
}

func sign(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) ([]byte, *x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return der, cert, err
}

func writePair(dir, name string, der []byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("write certificates: %s key: %w", name, err)
	}
	crt := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, name+".crt"), crt, 0o644); err != nil {
		return fmt.Errorf("write certificates: %w", err)
	}
	keyPath := filepath.Join(dir, name+".key")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return fmt.Errorf("write certificates: %w", err)
	}
	// WriteFile keeps the mode of an existing file; a key must never stay readable.
	if err := os.Chmod(keyPath, 0o600); err != nil {
		return fmt.Errorf("write certificates: %w", err)
	}
	return nil
}
