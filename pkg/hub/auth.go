package hub

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Auth is how a hub asks counters, and the other hubs of its cluster, who
// they are. NATS offers both ways; a hub may ask for both.
//
//   - TLS: the hub shows TLSCert (with TLSKey); with TLSCA it requires
//     every counter to show a client certificate that CA signed (hub.cert,
//     hub.key, hub.ca at the counter). The cluster port uses the same
//     certificate both ways, so a cluster's certificate needs both server
//     and client authentication in its extended key usage.
//   - NKeys: NKeysFile lists the public user keys (U...) allowed in, one a
//     line, # comments; each counter signs with its seed (hub.nkey_seed).
type Auth struct {
	TLSCert, TLSKey, TLSCA string
	NKeysFile              string
}

// verifiesClients reports whether counters must show who they are.
func (a Auth) verifiesClients() bool {
	return (a.TLSCert != "" && a.TLSCA != "") || a.NKeysFile != ""
}

// Loopback reports whether host (of HOST:PORT) is only reachable from this
// machine: a loopback IP or "localhost". "", 0.0.0.0 and :: listen on
// every interface.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// check refuses, before anything listens, a hub that would let anyone on
// the pharmacy's network read and write its records, and files that do
// not go together.
func (a Auth) check(addr, clusterAddr string) error {
	if (a.TLSCert == "") != (a.TLSKey == "") {
		return rx.Errorf(rx.EINVALID, "The hub's TLS needs both its certificate (--tls-cert) and its private key (--tls-key).")
	}
	if a.TLSCA != "" && a.TLSCert == "" {
		return rx.Errorf(rx.EINVALID, "--tls-ca checks the counters' client certificates over TLS, which needs the hub's own certificate too: add --tls-cert and --tls-key.")
	}
	host, _, _ := net.SplitHostPort(addr)
	if !Loopback(host) && !a.verifiesClients() {
		where := host
		if where == "" || where == "0.0.0.0" || where == "::" {
			where = "every network interface"
		}
		return rx.Errorf(rx.EINVALID, "The hub would listen on %s (%s) without asking the counters who they are, so anyone on the network could read and change the pharmacy's records. Give it --tls-cert, --tls-key and --tls-ca (each counter then sets hub.cert, hub.key and hub.ca), or --nkeys FILE with the counters' public NKeys (each counter then sets hub.nkey_seed); or listen on 127.0.0.1 for a demo on this machine.", addr, where)
	}
	if !Loopback(host) && a.TLSCert == "" {
		// Records carry patients' identity codes: beyond this machine they
		// cross the network encrypted, whoever proves who they are.
		return rx.Errorf(rx.EINVALID, "The hub would listen on %s without TLS, so the pharmacy's records, patients' identity codes among them, would cross the network readable by anyone on it. Give it --tls-cert and --tls-key (each counter then sets hub.ca to the CA that signed it), with --tls-ca or --nkeys to ask the counters who they are.", addr)
	}
	if clusterAddr != "" {
		ch, _, _ := net.SplitHostPort(clusterAddr)
		if !Loopback(ch) && (a.TLSCert == "" || a.TLSCA == "") {
			return rx.Errorf(rx.EINVALID, "The cluster port %s is beyond this machine, and the other hubs would connect to it without proving who they are. Give the hubs --tls-cert, --tls-key and --tls-ca (a certificate for both server and client authentication, signed by that CA), or use a loopback cluster address for a test.", clusterAddr)
		}
	}
	return nil
}

// apply puts the authentication into the server's options. When counters
// sign in with NKeys, the hub's own in-process connection gets a key of
// its own, made now and never written anywhere: self.
func (a Auth) apply(so *server.Options, self *nkeys.KeyPair) error {
	if a.TLSCert != "" {
		conf, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: a.TLSCert, KeyFile: a.TLSKey, CaFile: a.TLSCA, Verify: a.TLSCA != ""})
		if err != nil {
			return rx.Errorf(rx.EINVALID, "The hub's TLS files cannot be used: %v. Check --tls-cert, --tls-key and --tls-ca.", err)
		}
		so.TLSConfig = conf
		so.TLS = true
		so.TLSVerify = a.TLSCA != ""
		so.TLSTimeout = 5 // seconds; a busy counter PC is slow to handshake
		// The routes between hubs use the same files, both ways: unused
		// without a cluster.
		cc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: a.TLSCert, KeyFile: a.TLSKey, CaFile: a.TLSCA, Verify: a.TLSCA != ""})
		if err != nil {
			return rx.Errorf(rx.EINVALID, "The hub's TLS files cannot be used for the cluster: %v.", err)
		}
		// A hub dialling another shows its certificate as a client and
		// checks the other's against the same CA (nats-server's own
		// configuration file does the same for cluster TLS).
		cc.RootCAs = cc.ClientCAs
		so.Cluster.TLSConfig = cc
		so.Cluster.TLSTimeout = 5
	}
	if a.NKeysFile != "" {
		keys, err := ReadNKeys(a.NKeysFile)
		if err != nil {
			return err
		}
		kp, err := nkeys.CreateUser()
		if err != nil {
			return err
		}
		pub, _ := kp.PublicKey()
		so.Nkeys = append(so.Nkeys, &server.NkeyUser{Nkey: pub})
		for _, k := range keys {
			so.Nkeys = append(so.Nkeys, &server.NkeyUser{Nkey: k})
		}
		*self = kp
	}
	return nil
}

// ReadNKeys reads a file of public user NKeys, one a line; blank lines and
// text after # are ignored.
func ReadNKeys(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, rx.Errorf(rx.EINVALID, "The hub's list of NKeys cannot be read: %v. --nkeys names a file with one public key (U...) a line.", err)
	}
	var keys []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		if !nkeys.IsValidPublicUserKey(text) {
			hint := ""
			if strings.HasPrefix(text, "S") {
				hint = " It looks like a seed: the file lists public keys only; the seed stays at its counter."
			}
			return nil, rx.Errorf(rx.EINVALID, "Line %d of %s is not a public user NKey (U followed by 55 characters).%s", line, path, hint)
		}
		keys = append(keys, text)
	}
	if len(keys) == 0 {
		return nil, rx.Errorf(rx.EINVALID, "%s lists no NKeys, so no counter could sign in. Add each counter's public key (made with the nk tool: nk -gen user -pubout), one a line.", path)
	}
	return keys, nil
}
