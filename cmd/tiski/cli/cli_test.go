package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tiski-rx/tiski/pkg/signin"
)

func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), Build{Version: "1.2.3", Commit: "abcdef0123456789", Date: "2026-11-22"}, args,
		IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return out.String(), errOut.String(), code
}

func TestVersion(t *testing.T) {
	out, _, code := run(t, "version")
	if code != ExitOK || !strings.HasPrefix(out, "tiski 1.2.3 (commit abcdef012345, 2026-11-22)") {
		t.Fatalf("version: code %d, output %q", code, out)
	}
	out, _, code = run(t, "version", "--json")
	var v map[string]string
	if code != ExitOK || json.Unmarshal([]byte(out), &v) != nil || v["version"] != "1.2.3" || v["commit"] != "abcdef0123456789" {
		t.Fatalf("version --json: code %d, output %q", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"version", "--nope"}, "unknown flag: --nope"},
		{"extra argument", []string{"version", "extra"}, "accepts 0 arg(s)"},
		{"unknown fault kind", []string{"centre", "fault", "meltdown"}, "meltdown"},
		{"fault with no kind", []string{"centre", "fault"}, "accepts between 1 and 2 arg(s)"},
		{"certs without --out", []string{"centre", "certs"}, "--out DIR is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := run(t, tt.args...)
			if code != ExitUsage {
				t.Fatalf("exit code %d, want %d (stderr %q)", code, ExitUsage, errOut)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Fatalf("stderr %q, want it to mention %q", errOut, tt.want)
			}
		})
	}
}

func TestCentreCerts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	out, errOut, code := run(t, "centre", "certs", "--out", dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, name := range []string{"ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s not written: %v", name, err)
		}
		if strings.HasSuffix(name, ".key") && st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is readable by others: %v", name, st.Mode())
		}
		if !strings.Contains(out, name) {
			t.Errorf("output does not list %s: %q", name, out)
		}
	}
}

func TestFaultUnreachableAdmin(t *testing.T) {
	// Port 1 on loopback is never our simulator: the error must say where it tried.
	_, errOut, code := run(t, "centre", "fault", "down", "--admin-addr", "127.0.0.1:1")
	if code != ExitFailed || !strings.Contains(errOut, "127.0.0.1:1") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

// TestTrainingPINHash checks the precomputed hash of the training PIN is
// of that PIN, with the parameters a new hash would get.
func TestTrainingPINHash(t *testing.T) {
	if !signin.VerifyPIN(trainingPINHash, trainingPIN) {
		t.Fatal("trainingPINHash does not verify trainingPIN")
	}
	if signin.VerifyPIN(trainingPINHash, "4321") {
		t.Fatal("trainingPINHash verifies a wrong PIN")
	}
	fresh, err := signin.HashPIN(trainingPIN, signin.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := strings.SplitN(fresh, "$", 5)[3], strings.SplitN(trainingPINHash, "$", 5)[3]; a != b {
		t.Errorf("demo hash parameters %q, a new hash has %q", b, a)
	}
}
