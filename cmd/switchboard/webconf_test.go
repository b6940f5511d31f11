package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeRefusesBadWebConfig: typos and bad values in the keys of the
// public HTTP listener and its surfaces (http_listen, http.*, carddav.*,
// scim.*, federation.*, admin_listen) stop serve at start with a message
// naming the key and a non-zero exit, before the data directory is
// created.
func TestServeRefusesBadWebConfig(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	same := freePort(t)
	for _, tc := range []struct {
		name string
		yaml string
		args []string // "-" alone: no --http-listen flag
		want string
	}{
		{"typo http_listen", "htp_listen: 127.0.0.1:0\n", nil, ":1: unknown key htp_listen (did you mean http_listen?)"},
		{"typo admin_listen", "admin_lisen: 127.0.0.1:0\n", nil, ":1: unknown key admin_lisen (did you mean admin_listen?)"},
		{"typo http.max_connections", "http:\n  max_conections: 5\n", nil, ":2: unknown key http.max_conections (did you mean http.max_connections?)"},
		{"typo http.tls", "http:\n  tsl: true\n", nil, ":2: unknown key http.tsl (did you mean http.tls?)"},
		{"typo carddav", "cardav:\n  enabled: false\n", nil, ":1: unknown key cardav (did you mean carddav?)"},
		{"typo carddav.max_card_bytes", "carddav:\n  max_card_byte: 5\n", nil, ":2: unknown key carddav.max_card_byte (did you mean carddav.max_card_bytes?)"},
		{"typo scim.enabled", "scim:\n  enable: false\n", nil, ":2: unknown key scim.enable (did you mean scim.enabled?)"},
		{"no console keys", "console:\n  enabled: false\n", nil, ":1: unknown key console"},
		{"typo federation.grace", "federation:\n  grase: 1h\n", nil, ":2: unknown key federation.grase (did you mean federation.grace?)"},

		{"type http.max_connections", "http:\n  max_connections: lots\n", nil, "http.max_connections"},
		{"type http.tls", "http:\n  tls: maybe\n", nil, "http.tls"},
		{"type http.allow_plain_basic", "http:\n  allow_plain_basic: [1]\n", nil, "http.allow_plain_basic"},
		{"type carddav.enabled", "carddav:\n  enabled: sometimes\n", nil, "carddav.enabled"},
		{"type carddav.max_card_bytes", "carddav:\n  max_card_bytes: big\n", nil, "carddav.max_card_bytes"},
		{"type scim.max_results", "scim:\n  max_results: all\n", nil, "scim.max_results"},
		{"type federation.grace", "federation:\n  grace: soon\n", nil, "federation.grace"},
		{"type http_listen", "http_listen: {a: b}\n", []string{"-"}, "http_listen"},

		{"zero http.max_connections", "http:\n  max_connections: 0\n", nil, "http.max_connections"},
		{"negative http.max_connections", "http:\n  max_connections: -1\n", nil, "http.max_connections"},
		{"flag http.max_connections", "", []string{"--http.max-connections", "-3"}, "http.max_connections"},
		{"zero http.max_connections_per_ip", "http:\n  max_connections_per_ip: 0\n", nil, "http.max_connections_per_ip"},
		{"negative http.max_connections_per_ip", "http:\n  max_connections_per_ip: -2\n", nil, "http.max_connections_per_ip"},
		{"zero carddav.max_card_bytes", "carddav:\n  max_card_bytes: 0\n", nil, "carddav.max_card_bytes"},
		{"negative carddav.max_card_bytes", "carddav:\n  max_card_bytes: -1\n", nil, "carddav.max_card_bytes"},
		{"negative carddav.max_photo_bytes", "carddav:\n  max_photo_bytes: -1\n", nil, "carddav.max_photo_bytes"},
		{"zero carddav.max_request_bytes", "carddav:\n  max_request_bytes: 0\n", nil, "carddav.max_request_bytes"},
		{"bad carddav.people_filter", "carddav:\n  people_filter: \"(objectClass=\"\n", nil, "carddav.people_filter"},
		{"bad scim.users", "scim:\n  users: not a dn\n", nil, "scim.users"},
		{"bad scim.groups", "scim:\n  groups: \"ou=x,,\"\n", nil, "scim.groups"},
		{"zero scim.max_results", "scim:\n  max_results: 0\n", nil, "scim.max_results"},
		{"negative scim.max_results", "scim:\n  max_results: -5\n", nil, "scim.max_results"},
		{"zero federation.grace", "federation:\n  grace: 0s\n", nil, "federation.grace"},
		{"negative federation.grace", "federation:\n  grace: -1h\n", nil, "federation.grace"},

		{"http.tls without certificate", "http:\n  tls: true\n", nil, "http.tls"},
		{"missing tls.cert_file", "http:\n  tls: true\ntls:\n  cert_file: " + filepath.Join(dir, "none.pem") + "\n  key_file: " + filepath.Join(dir, "none.key") + "\n", nil, "tls.cert_file"},
		{"garbage tls.cert_file", "http:\n  tls: true\ntls:\n  cert_file: " + garbage + "\n  key_file: " + garbage + "\n", nil, "tls.cert_file"},
		{"http_listen in use", "", []string{"--http-listen", busy.Addr().String()}, "http_listen " + busy.Addr().String()},
		{"admin_listen in use", "", []string{"--admin-listen", busy.Addr().String()}, "admin_listen " + busy.Addr().String()},
		{"http_listen is admin_listen", "", []string{"--http-listen", same, "--admin-listen", same}, "admin_listen and http_listen are both " + same},
		{"http_listen is listen", "", []string{"--http-listen", same, "--listen", same}, "listen and http_listen are both " + same},
		{"bad http_listen", "", []string{"--http-listen", "localhost:http-alt-nope"}, "http_listen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "config.yaml")
			if err := os.WriteFile(cfg, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			data := filepath.Join(dir, "data")
			args := []string{"serve", "--config", cfg, "--data", data, "--listen", freePort(t), "--admin-listen", ""}
			// "-": the key is in the file, which a flag would override.
			if len(tc.args) != 1 || tc.args[0] != "-" {
				args = append(append(args, "--http-listen", freePort(t)), tc.args...)
			}
			errOut, code := serveBriefly(t, args...)
			if testing.Verbose() {
				t.Logf("stderr: %s", errOut)
			}
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want a failure naming %q", code, errOut, tc.want)
			}
			if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the data directory was created (%v); stderr %q", err, errOut)
			}
		})
	}
}

// serveBriefly runs the binary with args, killing it after a few seconds
// if it has not stopped (a server that started); it returns stderr and
// the exit code (-1 if killed).
func serveBriefly(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Dir = t.TempDir()
	cmd.Env = cliEnv("SWITCHBOARD_ROOT_PASSWORD=secret")
	var e bytes.Buffer
	cmd.Stderr = &e
	err := cmd.Run()
	var xe *exec.ExitError
	if err != nil && !errors.As(err, &xe) {
		t.Fatal(err)
	}
	return e.String(), cmd.ProcessState.ExitCode()
}
