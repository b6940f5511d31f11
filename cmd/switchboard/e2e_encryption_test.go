package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
)

// addSecretEntry binds as root and adds an entry carrying secret.
func addSecretEntry(t *testing.T, s *testServer, secret string) {
	t.Helper()
	c, err := goldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(testRootDN, testRootPass); err != nil {
		t.Fatal(err)
	}
	addVault(t, c, map[string][]string{"description": {secret}})
}

// addVault adds the suffix and uid=vault under it, a person with the
// attributes extra besides its names, through c.
func addVault(t *testing.T, c *goldap.Conn, extra map[string][]string) {
	t.Helper()
	for _, dn := range []string{testSuffix, "uid=vault," + testSuffix} {
		a := goldap.NewAddRequest(dn, nil)
		if dn == testSuffix {
			a.Attribute("objectClass", []string{"dcObject", "organization"})
			a.Attribute("dc", []string{"example"})
			a.Attribute("o", []string{"Example"})
		} else {
			a.Attribute("objectClass", []string{"inetOrgPerson"})
			a.Attribute("uid", []string{"vault"})
			a.Attribute("cn", []string{"Vault"})
			a.Attribute("sn", []string{"Vault"})
			for name, values := range extra {
				a.Attribute(name, values)
			}
		}
		if err := c.Add(a); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
	}
}

// storeHolds reports whether any file of the store in dir contains b.
func storeHolds(t *testing.T, dir string, b []byte) bool {
	t.Helper()
	found := false
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, b) {
			found = true
		}
		return nil
	})
	return found
}

func keyFile(t *testing.T, name string, enc func([]byte) string) (path string) {
	t.Helper()
	k := make([]byte, 32)
	rand.Read(k)
	return writeFile(t, name, enc(k)+"\n")
}

// A store written under key A holds no plaintext of its data, opens with
// A only, and after `switchboard rekey` opens with B only; a clear store
// refuses a key. Each refusal says which case it is.
func TestEncryptionAtRestAndRekey(t *testing.T) {
	secret := "zebra-" + hex.EncodeToString([]byte("unique-7f3a9c"))
	keyA := keyFile(t, "a.key", hex.EncodeToString)
	keyB := keyFile(t, "b.key", base64.StdEncoding.EncodeToString)

	// Control: in a clear store killed after the write, the value is in
	// the files (the write-ahead log), so the search below can find it.
	plain := startServer(t, "")
	addSecretEntry(t, plain, secret)
	plain.Kill()
	if !storeHolds(t, plain.Data, []byte(secret)) {
		t.Fatal("control: the clear store's files do not contain the value; the plaintext check would prove nothing")
	}

	s := startServer(t, "", "--encryption.key-file", keyA)
	addSecretEntry(t, s, secret)
	s.Kill()
	if storeHolds(t, s.Data, []byte(secret)) {
		t.Fatal("the encrypted store's files contain the value in clear")
	}

	export := func(extra ...string) (string, string, int) {
		return runCLI(t, "", append([]string{"export", "--data", s.Data, "--suffix", testSuffix}, extra...)...)
	}
	if out, errOut, code := export("--encryption.key-file", keyA); code != 0 || !strings.Contains(out, secret) {
		t.Fatalf("export with key A: exit %d, stderr %q", code, errOut)
	}
	refused := func(what, want string, extra ...string) {
		t.Helper()
		out, errOut, code := export(extra...)
		if code == 0 || strings.Contains(out, secret) || !strings.Contains(errOut, want) {
			t.Errorf("%s: exit %d, stderr %q; want a refusal saying %q", what, code, errOut, want)
		}
	}
	refused("no key", "is encrypted; give its key")
	refused("key B before rekey", "encrypted with another key", "--encryption.key-file", keyB)
	refused("short key", "not a 16, 24 or 32-byte AES key", "--encryption.key-file", writeFile(t, "short.key", "abcd\n"))
	refused("clear store with a key", "is not encrypted", "--data", plain.Data, "--encryption.key-file", keyA)

	// Rekey: refused while the server runs, then done offline.
	s.start()
	if _, errOut, code := runCLI(t, "", "rekey", "--data", s.Data, "--old-key-file", keyA, "--new-key-file", keyB); code == 0 || !strings.Contains(errOut, "in use") {
		t.Errorf("rekey of a running server's store: exit %d, stderr %q", code, errOut)
	}
	s.Stop()
	if _, errOut, code := runCLI(t, "", "rekey", "--data", s.Data, "--old-key-file", keyB, "--new-key-file", keyA); code == 0 || !strings.Contains(errOut, "old key does not open") {
		t.Errorf("rekey with the wrong old key: exit %d, stderr %q", code, errOut)
	}
	if out, errOut, code := runCLI(t, "", "rekey", "--data", s.Data, "--old-key-file", keyA, "--new-key-file", keyB); code != 0 {
		t.Fatalf("rekey: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	refused("key A after rekey", "encrypted with another key", "--encryption.key-file", keyA)

	// Key B from the environment opens it; the server serves the data.
	kb, _ := os.ReadFile(keyB)
	s.args = []string{"--encryption.key-file", keyB}
	s.start()
	if out := e2eMustTool(t, s, 0, "", "ldapsearch", asRoot("-LLL", "-b", testSuffix, "(uid=vault)", "description")...); !strings.Contains(out, secret) {
		t.Errorf("after rekey, the server with key B returned %q", out)
	}
	s.Stop()
	t.Setenv("SWITCHBOARD_ENCRYPTION_KEY", strings.TrimSpace(string(kb)))
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"export", "--data", s.Data, "--suffix", testSuffix}, nil, &stdout, &stderr); err != nil || !strings.Contains(stdout.String(), secret) {
		t.Errorf("export with key B from SWITCHBOARD_ENCRYPTION_KEY: %v %s", err, stderr.String())
	}
}

func TestParseKey(t *testing.T) {
	k := bytes.Repeat([]byte{0xAB}, 32)
	for _, c := range []struct {
		in   string
		raw  bool
		want []byte
	}{
		{hex.EncodeToString(k) + "\n", false, k},
		{"  " + base64.StdEncoding.EncodeToString(k[:16]) + "\r\n", false, k[:16]},
		{string(k[:24]), true, k[:24]},
		{string(k[:24]), false, nil},
		{"00112233", false, nil},
		{strings.Repeat("z", 33), true, nil},
		{"", true, nil},
	} {
		got, err := parseKey([]byte(c.in), c.raw)
		if c.want == nil {
			if err == nil {
				t.Errorf("parseKey(%q, raw=%v) accepted", c.in, c.raw)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("parseKey(%q, raw=%v) = %x, %v", c.in, c.raw, got, err)
		}
	}
}
