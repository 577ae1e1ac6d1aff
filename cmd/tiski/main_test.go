package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tiskiBin is the binary built once for the end-to-end tests of this file.
var tiskiBin string

func TestMain(m *testing.M) {
	// The command line speaks Finnish unless told otherwise, as the counter
	// does. These tests read its English: each binary they start inherits
	// TISKI_LANG=en, and a test of another language says so with --lang,
	// which wins over the environment (lang_e2e_test.go).
	os.Setenv("TISKI_LANG", "en")
	dir, err := os.MkdirTemp("", "tiski-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tiskiBin = filepath.Join(dir, "tiski")
	build := exec.Command("go", "build", "-o", tiskiBin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build tiski: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// serve starts `tiski centre serve` with args and returns the FHIR and admin
// URLs it prints once ready. The process is stopped with SIGTERM at cleanup,
// and must exit cleanly.
func serve(t *testing.T, args ...string) (fhirURL, adminURL string) {
	t.Helper()
	cmd := exec.Command(tiskiBin, append([]string{"centre", "serve"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("tiski centre serve did not exit cleanly on SIGTERM: %v\n%s", err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Errorf("tiski centre serve did not stop within 10 s of SIGTERM")
		}
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	urlLine := regexp.MustCompile(`^\s+(FHIR|admin)\s+(https?://\S+)`)
	deadline := time.After(20 * time.Second)
	for fhirURL == "" || adminURL == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("tiski centre serve exited before it was ready:\n%s", stderr.String())
			}
			if m := urlLine.FindStringSubmatch(line); m != nil {
				if m[1] == "FHIR" {
					fhirURL = m[2]
				} else {
					adminURL = m[2]
				}
			}
		case <-deadline:
			t.Fatalf("tiski centre serve printed no addresses in 20 s:\n%s", stderr.String())
		}
	}
	go func() {
		for range lines {
		}
	}()
	return fhirURL, adminURL
}

func TestServeAnswersOnceReady(t *testing.T) {
	fhirURL, adminURL := serve(t, "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--data", t.TempDir())
	if !strings.HasPrefix(fhirURL, "http://127.0.0.1:") || !strings.HasPrefix(adminURL, "http://127.0.0.1:") || fhirURL == adminURL {
		t.Fatalf("addresses: FHIR %s, admin %s", fhirURL, adminURL)
	}
	// Ready means ready: the first request after the announcement succeeds.
	resp, err := http.Get(fhirURL + "/metadata")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cs struct {
		ResourceType string `json:"resourceType"`
		FHIRVersion  string `json:"fhirVersion"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&cs); err != nil || resp.StatusCode != 200 || cs.ResourceType != "CapabilityStatement" || cs.FHIRVersion != "4.0.1" {
		t.Fatalf("GET /metadata: %d %+v %v", resp.StatusCode, cs, err)
	}

	// The fault command reaches the admin port: down refuses connections, up restores.
	fault := func(args ...string) {
		t.Helper()
		out, err := exec.Command(tiskiBin, append([]string{"centre", "fault"}, append(args, "--admin-addr", strings.TrimPrefix(adminURL, "http://"))...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tiski centre fault %v: %v\n%s", args, err, out)
		}
	}
	fault("down")
	hostPort := strings.TrimPrefix(fhirURL, "http://")
	if c, err := net.DialTimeout("tcp", hostPort, time.Second); err == nil {
		c.Close()
		t.Fatal("FHIR port still accepts connections after 'fault down'")
	}
	fault("up")
	resp2, err := http.Get(fhirURL + "/metadata")
	if err != nil {
		t.Fatalf("after 'fault up': %v", err)
	}
	io.Copy(io.Discard, resp2.Body)
	resp2.Body.Close()
}

func TestServeTLSRequiresClientCertificate(t *testing.T) {
	certs := filepath.Join(t.TempDir(), "certs")
	if out, err := exec.Command(tiskiBin, "centre", "certs", "--out", certs).CombinedOutput(); err != nil {
		t.Fatalf("certs: %v\n%s", err, out)
	}
	fhirURL, _ := serve(t, "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--tls", certs)
	if !strings.HasPrefix(fhirURL, "https://") {
		t.Fatalf("with --tls the FHIR URL is %s", fhirURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// curl with the CA but no client certificate is refused; with it, answered.
	noCert := exec.CommandContext(ctx, "curl", "-sS", "--cacert", filepath.Join(certs, "ca.crt"), fhirURL+"/metadata")
	if out, err := noCert.CombinedOutput(); err == nil && strings.Contains(string(out), "CapabilityStatement") {
		t.Fatalf("served without a client certificate: %s", out)
	}
	withCert := exec.CommandContext(ctx, "curl", "-sS", "--fail", "--cacert", filepath.Join(certs, "ca.crt"),
		"--cert", filepath.Join(certs, "client.crt"), "--key", filepath.Join(certs, "client.key"), fhirURL+"/metadata")
	if out, err := withCert.CombinedOutput(); err != nil || !strings.Contains(string(out), "CapabilityStatement") {
		t.Fatalf("with a client certificate: %v\n%s", err, out)
	}
}

// TestReadmeTour runs the README's curl tour as written, against
// `tiski centre serve` on its default ports, and checks what each command's
// comment says to look for, ignoring case. `go run ./cmd/tiski` stands for
// the built binary.
func TestReadmeTour(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed; the tour needs it")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "<!-- tour")
	if start < 0 {
		t.Fatal("README.md has no tour block")
	}
	block := text[start:]
	block = block[strings.Index(block, "```sh\n")+len("```sh\n"):]
	block = block[:strings.Index(block, "```")]

	for _, addr := range []string{"127.0.0.1:8780", "127.0.0.1:8781"} {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			t.Fatalf("%s is already in use; the tour needs the default ports free", addr)
		}
	}
	access := filepath.Join(t.TempDir(), "access.log")
	serve(t, "--access-log", access)

	steps := 0
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		command, expect, _ := strings.Cut(line, "# → ")
		command, expect = strings.TrimSpace(command), strings.TrimSpace(expect)
		if expect == "" {
			t.Fatalf("tour command without an expectation comment: %s", line)
		}
		command = strings.Replace(command, "go run ./cmd/tiski", tiskiBin, 1)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		cmd := exec.CommandContext(ctx, "bash", "-c", command)
		cmd.Dir = "../.."
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("tour step %q: %v\n%s", line, err, out)
		}
		// Header names are case-insensitive (Go's server sends "Etag").
		if !strings.Contains(strings.ToLower(string(out)), strings.ToLower(expect)) {
			t.Fatalf("tour step %q: output does not contain %q:\n%.3000s", line, expect, out)
		}
		steps++
	}
	if steps < 10 {
		t.Fatalf("the tour ran only %d steps", steps)
	}
	// Issue 18: the tour shows searches as they should be made, with no
	// identity code in a URL (requestline_e2e_test.go).
	noIdentityCodeInURLs(t, access, steps-2) // the two fault commands go to the admin port
}
