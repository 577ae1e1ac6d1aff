package hub

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// testPKI is a CA with certificates for hubs and counters, written as PEM
// files for one test.
type testPKI struct {
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	CAFile string
}

func newTestPKI(t *testing.T, name string) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p.ca, _ = x509.ParseCertificate(der)
	p.caKey = key
	p.CAFile = filepath.Join(p.dir, "ca.crt")
	writePEM(t, p.CAFile, "CERTIFICATE", der)
	return p
}

// issue writes a certificate for name with the usages given and returns
// its certificate and key files. A hub's certificate is for 127.0.0.1 and
// both usages: the cluster's routes show it as a client too.
func (p *testPKI) issue(t *testing.T, name string, usage ...x509.ExtKeyUsage) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: usage,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(p.dir, name+".crt"), filepath.Join(p.dir, name+".key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

func (p *testPKI) hubAuth(t *testing.T) Auth {
	cert, key := p.issue(t, "hub", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	return Auth{TLSCert: cert, TLSKey: key, TLSCA: p.CAFile}
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestBeyondLoopbackNeedsCredentials: a hub on every interface, or on its
// cluster port beyond loopback, without asking who connects, is refused
// before it binds or writes anything, with what to do; with credentials
// the same addresses pass the check.
func TestBeyondLoopbackNeedsCredentials(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	for _, addr := range []string{net.JoinHostPort("0.0.0.0", itoa(port)), net.JoinHostPort("192.168.1.20", itoa(port)), net.JoinHostPort("", itoa(port)), net.JoinHostPort("hub.apteekki.lan", itoa(port))} {
		s, err := Start(t.Context(), Options{Addr: addr, DataDir: dir})
		if err == nil {
			s.Close()
			t.Fatalf("a hub on %s without credentials started", addr)
		}
		if rx.ErrorCode(err) != rx.EINVALID || !strings.Contains(err.Error(), "--tls-ca") || !strings.Contains(err.Error(), "--nkeys") || !strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("%s: %v", addr, err)
		}
	}
	// Refused before anything: no store made, the port still free.
	if _, err := os.Stat(filepath.Join(dir, "jetstream")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused hub made its store: %v", err)
	}
	if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", itoa(port))); err != nil {
		t.Errorf("a refused hub holds its port: %v", err)
	} else {
		l.Close()
	}

	pki := newTestPKI(t, "pharmacy CA")
	withTLS := pki.hubAuth(t)
	nk := writeNKeys(t, 1)
	for _, c := range []struct {
		auth          Auth
		addr, cluster string
		ok            bool
	}{
		{Auth{}, "127.0.0.1:4222", "127.0.0.1:6222", true},
		{Auth{}, "localhost:4222", "", true},
		{Auth{}, "[::1]:4222", "", true},
		{withTLS, "0.0.0.0:4222", "0.0.0.0:6222", true},
		// NKeys ask the counters, but without TLS the records (identity
		// codes among them) would cross the network in clear.
		{Auth{NKeysFile: nk.file}, "0.0.0.0:4222", "", false},
		{Auth{NKeysFile: nk.file, TLSCert: withTLS.TLSCert, TLSKey: withTLS.TLSKey}, "0.0.0.0:4222", "", true},
		// NKeys ask the counters, but the routes between hubs would go
		// unchecked.
		{Auth{NKeysFile: nk.file}, "0.0.0.0:4222", "0.0.0.0:6222", false},
		// A server certificate alone encrypts but asks nobody.
		{Auth{TLSCert: withTLS.TLSCert, TLSKey: withTLS.TLSKey}, "0.0.0.0:4222", "", false},
		{Auth{TLSCert: withTLS.TLSCert}, "127.0.0.1:4222", "", false},
		{Auth{TLSCA: withTLS.TLSCA}, "127.0.0.1:4222", "", false},
	} {
		err := c.auth.check(c.addr, c.cluster)
		if (err == nil) != c.ok {
			t.Errorf("%+v on %s, cluster %q: %v", c.auth, c.addr, c.cluster, err)
		}
	}
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

// nkeySet is a file of allowed public NKeys and the seed files of the
// counters it lets in.
type nkeySet struct {
	file  string
	seeds []string
}

func writeNKeys(t *testing.T, n int) nkeySet {
	t.Helper()
	dir := t.TempDir()
	s := nkeySet{file: filepath.Join(dir, "counters.nk")}
	list := "# the pharmacy's counters\n"
	for i := range n {
		seedFile, pub := newNKey(t, dir, i)
		s.seeds = append(s.seeds, seedFile)
		list += pub + "  # counter " + itoa(i+1) + "\n\n"
	}
	if err := os.WriteFile(s.file, []byte(list), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

func newNKey(t *testing.T, dir string, i int) (seedFile, pub string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	pub, _ = kp.PublicKey()
	seedFile = filepath.Join(dir, "seed-"+itoa(i)+"-"+pub[:8]+".nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	return seedFile, pub
}

// shareOne records at a and shares it through the hub to b: the hub takes
// the counter in for real, not only its connection.
func shareOne(t *testing.T, a, b *counter) {
	t.Helper()
	a.record(t, "131052-902Y", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.c.CatchUp(ctx, a.j); err != nil {
		t.Fatalf("%s shares: %v", a.name, err)
	}
	if r, err := b.c.CatchUp(ctx, b.j); err != nil || r.Received != 1 {
		t.Fatalf("%s receives: %+v, %v", b.name, r, err)
	}
}

// connectAs opens a journal for a counter and connects it with
// credentials, or returns the hub's refusal.
func connectAs(t *testing.T, url, name string, o ClientOptions) (*counter, error) {
	t.Helper()
	o.URL, o.Counter, o.Logf, o.ConnectTimeout = url, name, t.Logf, 3*time.Second
	c, err := Connect(context.Background(), o)
	if err != nil {
		return nil, err
	}
	t.Cleanup(c.Close)
	j, err := journal.Open(context.Background(), filepath.Join(t.TempDir(), "journal.db"), journal.Options{Terminal: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return &counter{name: name, j: j, c: c}, nil
}

// TestHubRequiresClientCertificate: a hub with --tls-ca refuses a counter
// without a client certificate, or with one another CA signed, and says
// so as a refusal; a counter with its certificate shares.
func TestHubRequiresClientCertificate(t *testing.T) {
	pki := newTestPKI(t, "pharmacy CA")
	s, err := Start(t.Context(), Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Auth: pki.hubAuth(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cert, key := pki.issue(t, "kassa-1", x509.ExtKeyUsageClientAuth)
	cert2, key2 := pki.issue(t, "kassa-2", x509.ExtKeyUsageClientAuth)
	stranger := newTestPKI(t, "someone else's CA")
	scert, skey := stranger.issue(t, "intruder", x509.ExtKeyUsageClientAuth)

	for name, o := range map[string]ClientOptions{
		"no certificate":            {CA: pki.CAFile},
		"another CA's certificate":  {CA: pki.CAFile, Cert: scert, Key: skey},
		"no TLS at all":             {},
		"a server-only certificate": {CA: pki.CAFile, Cert: func() string { c, _ := pki.issue(t, "server-only", x509.ExtKeyUsageServerAuth); return c }(), Key: filepath.Join(pki.dir, "server-only.key")},
	} {
		if _, err := connectAs(t, s.URL(), "intruder", o); err == nil {
			t.Errorf("%s: the hub let the counter in", name)
		} else if !strings.Contains(err.Error(), "hub.cert") {
			t.Errorf("%s: the refusal does not say what to check: %v", name, err)
		}
	}
	a, err := connectAs(t, s.URL(), "kassa-1", ClientOptions{CA: pki.CAFile, Cert: cert, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	b, err := connectAs(t, s.URL(), "kassa-2", ClientOptions{CA: pki.CAFile, Cert: cert2, Key: key2})
	if err != nil {
		t.Fatal(err)
	}
	shareOne(t, a, b)
}

// TestHubRequiresNKey: a hub with --nkeys refuses a counter that signs
// with no key or an unlisted one, and takes the listed ones in.
func TestHubRequiresNKey(t *testing.T) {
	nk := writeNKeys(t, 2)
	s, err := Start(t.Context(), Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Auth: Auth{NKeysFile: nk.file}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	unlisted, _ := newNKey(t, t.TempDir(), 9)
	for name, o := range map[string]ClientOptions{"no key": {}, "an unlisted key": {NKeySeed: unlisted}} {
		if _, err := connectAs(t, s.URL(), "intruder", o); err == nil {
			t.Errorf("%s: the hub let the counter in", name)
		} else if !strings.Contains(err.Error(), "hub.nkey_seed") {
			t.Errorf("%s: the refusal does not say what to check: %v", name, err)
		}
	}
	a, err := connectAs(t, s.URL(), "kassa-1", ClientOptions{NKeySeed: nk.seeds[0]})
	if err != nil {
		t.Fatal(err)
	}
	b, err := connectAs(t, s.URL(), "kassa-2", ClientOptions{NKeySeed: nk.seeds[1]})
	if err != nil {
		t.Fatal(err)
	}
	shareOne(t, a, b)
}

// TestNKeysFile: a seed or a typo in the list is refused with its line.
func TestNKeysFile(t *testing.T) {
	dir := t.TempDir()
	seed, pub := newNKey(t, dir, 0)
	seedText, _ := os.ReadFile(seed)
	for text, want := range map[string]string{
		pub + "\n" + string(seedText) + "\n": "Line 2",
		"# nothing\n":                        "lists no NKeys",
		pub[:20] + "\n":                      "Line 1",
	} {
		f := filepath.Join(dir, "list")
		os.WriteFile(f, []byte(text), 0o600)
		if _, err := ReadNKeys(f); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", text, err, want)
		}
	}
	if _, err := ReadNKeys(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing list was read")
	}
}
