package triage

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"time"
)

// Certs is what LoadCerts read of the configured certificate files: the
// first error met, with what was read before it. `tiski doctor` and the
// triage both read them this way, and each says it in its own words.
type Certs struct {
	Leaf    *x509.Certificate // the client certificate; nil when PairErr or LeafErr
	PairErr error             // the certificate and key could not be read together
	LeafErr error             // the certificate could not be parsed
	CAs     int               // certificates in the CA bundle
	CAErr   error             // the CA bundle could not be read; with CAs 0 and no CAErr it holds none
	TLS     *tls.Config       // for a handshake; nil when something above failed
}

// LoadCerts reads the client certificate and key (both may be "", for no
// client certificate) and the CA bundle.
func LoadCerts(certFile, keyFile, caFile, serverName string) Certs {
	var c Certs
	conf := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}
	if certFile != "" || keyFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			c.PairErr = err
			return c
		}
		if c.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			c.LeafErr = err
			return c
		}
		conf.Certificates = []tls.Certificate{pair}
	}
	if caFile == "" {
		c.TLS = conf
		return c
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		c.CAErr = err
		return c
	}
	pool := x509.NewCertPool()
	for rest := caPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if cert, err := x509.ParseCertificate(block.Bytes); err == nil {
			pool.AddCert(cert)
			c.CAs++
		}
	}
	if c.CAs == 0 {
		return c
	}
	conf.RootCAs = pool
	c.TLS = conf
	return c
}

// Way is what CheckWay saw on the way to the service: each layer in turn,
// stopping at the first that failed.
type Way struct {
	Host, Port string

	Addrs  []string
	DNSErr error

	Remote  net.Addr
	Connect time.Duration
	TCPErr  error

	TLSSkipped bool // plain HTTP, or no TLS configuration to shake hands with
	TLSErr     error
	TLS        tls.ConnectionState // when the handshake succeeded
}

// Sound reports whether every layer that was tried succeeded and the last
// one was reached.
func (w Way) Sound() bool {
	return w.DNSErr == nil && w.TCPErr == nil && w.TLSErr == nil && w.Remote != nil
}

// CheckWay tries DNS, TCP and the TLS handshake (with conf; nil skips it)
// to u's host, each bounded by timeout. After the handshake it waits
// briefly for the server's word: a TLS 1.3 server checks the client's
// certificate after the client thinks the handshake is done, and a refusal
// arrives only then.
func CheckWay(ctx context.Context, r *net.Resolver, u *url.URL, conf *tls.Config, timeout time.Duration) Way {
	if r == nil {
		r = net.DefaultResolver
	}
	w := Way{Host: u.Hostname(), Port: u.Port()}
	if w.Port == "" {
		w.Port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if w.Addrs, w.DNSErr = r.LookupHost(dctx, w.Host); w.DNSErr != nil {
		return w
	}
	start := time.Now()
	conn, err := (&net.Dialer{Timeout: timeout}).DialContext(dctx, "tcp", net.JoinHostPort(w.Host, w.Port))
	if err != nil {
		w.TCPErr = err
		return w
	}
	defer conn.Close()
	w.Remote, w.Connect = conn.RemoteAddr(), time.Since(start)
	if u.Scheme != "https" || conf == nil {
		w.TLSSkipped = true
		return w
	}
	conf = conf.Clone()
	if conf.ServerName == "" {
		conf.ServerName = w.Host
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	tc := tls.Client(conn, conf)
	if err := tc.HandshakeContext(dctx); err != nil {
		w.TLSErr = err
		return w
	}
	_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := tc.Read(make([]byte, 1)); err != nil && !isTimeout(err) && !errors.Is(err, io.EOF) {
		w.TLSErr = err
		return w
	}
	w.TLS = tc.ConnectionState()
	return w
}
