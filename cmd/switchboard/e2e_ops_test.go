package main

// Operator mistakes get a clear error (issue 14): missing stores, stray
// arguments, a store or port in use, --help per command, unsafe
// permissions, damaged stores, interrupted imports, TLS suites.

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startedLog waits until the server has printed its start banner (it
// binds its ports before it loads the store, so a connection can succeed
// earlier) and returns its output.
func startedLog(t *testing.T, s *testServer) string {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if log := s.Log(); strings.Contains(log, "bind with:") {
			return log
		}
	}
	t.Fatalf("no start banner:\n%s", s.Log())
	return ""
}

// importSmall imports smallLDIF into a new store in dir/data.
func importSmall(t *testing.T, dir string) string {
	t.Helper()
	data := filepath.Join(dir, "data")
	file := writeFile(t, "small.ldif", smallLDIF)
	if out, errOut, code := runCLI(t, "", "import", "--data", data, file); code != 0 {
		t.Fatalf("import: exit %d: %s%s", code, out, errOut)
	}
	return data
}

func TestCLIOfflineCommandsNeedAStore(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "typo")
	for _, args := range [][]string{
		{"export", "--data", missing, filepath.Join(dir, "out.ldif")},
		{"export", "--data", missing},
		{"verify", "--data", missing},
		{"reindex", "--data", missing},
	} {
		out, errOut, code := runCLI(t, "", args...)
		if code == 0 || !strings.Contains(errOut, "no store in "+missing) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
		if _, err := os.Stat(missing); err == nil {
			t.Fatalf("%v created %s", args, missing)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out.ldif")); err == nil {
		t.Error("export of a missing store left an (empty) export file")
	}
	// An existing empty directory holds no store either.
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCLI(t, "", "export", "--data", empty); code == 0 || !strings.Contains(errOut, "no store in "+empty) {
		t.Errorf("export of an empty directory: exit %d, stderr %q", code, errOut)
	}
	data := importSmall(t, dir)
	if out, errOut, code := runCLI(t, "", "verify", "--data", data); code != 0 || !strings.HasPrefix(out, "entries ") {
		t.Errorf("verify of a store: exit %d: %s%s", code, out, errOut)
	}
}

// runServeFail runs "switchboard serve args..." expecting it to exit on
// its own; one that serves instead (as before the fixes these tests
// check) is killed after a minute and fails the test.
func runServeFail(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve"}, args...)...)
	cmd.Dir, cmd.Env = t.TempDir(), cliEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("serve %v is serving instead of exiting: %s", args, stderr.String())
	}
	return stderr.String(), cmd.ProcessState.ExitCode()
}

func TestCLIServeRejectsArguments(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	errOut, code := runServeFail(t, "demo", "--data", data, "--listen", freePort(t), "--admin-listen", "", "--http-listen", "")
	if code == 0 || !strings.Contains(errOut, `serve takes no arguments, got ["demo"]`) || !strings.Contains(errOut, "Usage: switchboard serve") {
		t.Fatalf("serve demo: exit %d, stderr %q", code, errOut)
	}
}

func TestCLIDemoOnNonEmptyStoreIsLogged(t *testing.T) {
	data := importSmall(t, t.TempDir())
	s := startServer(t, data, "--demo")
	if log := startedLog(t, s); !strings.Contains(log, "demo data not loaded: the store is not empty") {
		t.Errorf("--demo on a non-empty store said nothing:\n%s", log)
	}
	if got := e2eSearch(t, s, "-b", testSuffix, "(uid=jmuller)", "1.1"); len(got) != 0 {
		t.Errorf("demo entries appeared in a non-empty store: %v", got)
	}
}

func TestCLISecondServerNamesTheHolder(t *testing.T) {
	s := startServer(t, "")
	errOut, code := runServeFail(t, "--data", s.Data, "--listen", freePort(t), "--admin-listen", "", "--http-listen", "")
	pid := strconv.Itoa(s.cmd.Process.Pid)
	if code == 0 || !strings.Contains(errOut, "held by process "+pid) || !strings.Contains(errOut, "kill "+pid) || strings.Contains(errOut, "Badger") {
		t.Fatalf("second server on %s: exit %d, stderr %q", s.Data, code, errOut)
	}
	if _, err := os.Stat(filepath.Join(s.Data, "root-password.hash")); err == nil {
		t.Error("the refused server wrote a root password into the other's data directory")
	}
	// Offline commands say the same.
	if _, errOut, code := runCLI(t, "", "export", "--data", s.Data); code == 0 || !strings.Contains(errOut, "held by process "+pid) {
		t.Errorf("export of a served store: exit %d, stderr %q", code, errOut)
	}
}

func TestCLIPortInUseBeforeStore(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, args := range [][]string{
		{"--listen", busy.Addr().String(), "--admin-listen", "", "--http-listen", ""},
		{"--listen", freePort(t), "--admin-listen", busy.Addr().String(), "--http-listen", ""},
		{"--listen", freePort(t), "--admin-listen", "", "--http-listen", busy.Addr().String()},
	} {
		data := filepath.Join(t.TempDir(), "data")
		errOut, code := runServeFail(t, append([]string{"--data", data}, args...)...)
		if code == 0 || !strings.Contains(errOut, busy.Addr().String()) || !strings.Contains(errOut, "address already in use") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
		if _, err := os.Stat(data); err == nil {
			t.Errorf("%v: the store was created before the port was checked", args)
		}
	}
}

func TestCLIStartBanner(t *testing.T) {
	s := startServer(t, "")
	log := startedLog(t, s)
	for _, want := range []string{
		"serving " + testSuffix + " on ldap://" + s.Addr + " (StartTLS off)",
		"naming context: " + testSuffix,
		"root DN:        " + testRootDN,
		"admin API:      http://" + s.Admin + "/",
		"bind with:      ldapsearch -H ldap://" + s.Addr + " -x -D '" + testRootDN + "' -W -b '" + testSuffix + "'",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("start output lacks %q:\n%s", want, log)
		}
	}
	ts := startTLSServer(t, "bind")
	log = startedLog(t, ts.testServer)
	for _, want := range []string{"(StartTLS on, required for password binds)", "on ldaps://" + ts.LDAPS, "ldapsearch -H ldap://" + ts.Addr + " -ZZ -x"} {
		if !strings.Contains(log, want) {
			t.Errorf("TLS start output lacks %q:\n%s", want, log)
		}
	}
}

func TestCLISubcommandHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "--help"}, "--data"},
		{[]string{"export", "--help"}, "--data"},
		{[]string{"verify", "--help"}, "--data"},
		{[]string{"reindex", "--help"}, "--data"},
		{[]string{"rekey", "--help"}, "--new-key-file"},
		{[]string{"hash-password", "--help"}, "--passwords.scheme"},
		{[]string{"replica", "init", "--help"}, "--from"},
		{[]string{"replica", "--help"}, "replica join --from URL"},
		{[]string{"replica", "join", "--help"}, "--replace"},
		{[]string{"audit", "--help"}, "audit verify"},
		{[]string{"audit", "verify", "--help"}, "--head"},
	} {
		out, errOut, code := runCLI(t, "", tc.args...)
		help := out + errOut
		if code != 0 || !strings.Contains(help, tc.want) {
			t.Errorf("%v: exit %d, want 0 and %q in:\n%s", tc.args, code, tc.want, help)
		}
		// Serve's flags are not listed for the other commands.
		for _, serveOnly := range []string{"--limits.size", "--listen ", "--bind-throttle.delay", "--tls.require"} {
			if strings.Contains(help, serveOnly) {
				t.Errorf("%v lists serve's %s", tc.args, serveOnly)
			}
		}
		if lines := strings.Count(help, "\n"); lines > 30 {
			t.Errorf("%v: %d lines of help", tc.args, lines)
		}
	}
	// A hidden key still works as a flag.
	data := importSmall(t, t.TempDir())
	if _, errOut, code := runCLI(t, "", "export", "--data", data, "--limits.size", "3"); code != 0 {
		t.Errorf("export with a serve key as flag: exit %d: %s", code, errOut)
	}
}

func TestCLIStoreBytesMetric(t *testing.T) {
	s := startServer(t, "", "--demo")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + s.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`(?m)^switchboard_store_bytes ([0-9.e+]+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no switchboard_store_bytes in /metrics")
	}
	// The demo's 319 entries are in the memtable's write-ahead log and the
	// value log; a store is never empty on disk.
	if v, _ := strconv.ParseFloat(string(m[1]), 64); v <= 0 {
		t.Errorf("switchboard_store_bytes = %s", m[1])
	}
}

func TestCLIStorePermissions(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(data, 0o755) // whatever the test's umask
	s := startServer(t, data, "--demo")
	e2eSearchCode(t, s, 0, "-b", testSuffix, "(uid=jmuller)", "1.1")
	s.Stop()
	if st, _ := os.Stat(data); st.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode %04o, want 0700", st.Mode().Perm())
	}
	filepath.WalkDir(data, func(path string, d os.DirEntry, err error) error {
		if info, err := d.Info(); err == nil && info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %04o, want nothing for group and others", path, info.Mode().Perm())
		}
		return nil
	})
	for _, mode := range []os.FileMode{0o775, 0o757} {
		os.Chmod(data, mode)
		errOut, code := runServeFail(t, "--data", data, "--listen", freePort(t), "--admin-listen", "", "--http-listen", "")
		if code == 0 || !strings.Contains(errOut, "may be written by group or others") || !strings.Contains(errOut, "chmod 700 "+data) {
			t.Errorf("serve on a %04o data directory: exit %d, stderr %q", mode, code, errOut)
		}
	}
}

func TestCLIDamagedStoreRefused(t *testing.T) {
	data := importSmall(t, t.TempDir())
	ssts, _ := filepath.Glob(filepath.Join(data, "*.sst"))
	if len(ssts) == 0 {
		t.Fatal("the imported store has no table")
	}
	b, err := os.ReadFile(ssts[0])
	if err != nil {
		t.Fatal(err)
	}
	for i := len(b) / 4; i < len(b)/4+64; i++ {
		b[i] ^= 0xff
	}
	if err := os.WriteFile(ssts[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
	check := func(cmd, errOut string, code int) {
		t.Helper()
		if code != 1 || strings.Contains(errOut, "panic") || !strings.Contains(errOut, "damaged: "+ssts[0]) ||
			!strings.Contains(errOut, "switchboard import --data NEWDIR") {
			t.Errorf("%s on a damaged store: exit %d, stderr %q", cmd, code, errOut)
		}
	}
	errOut, code := runServeFail(t, "--data", data, "--listen", freePort(t), "--admin-listen", "", "--http-listen", "")
	check("serve", errOut, code)
	_, errOut, code = runCLI(t, "", "verify", "--data", data)
	check("verify", errOut, code)
}

func TestCLIInterruptedImportCleanedUp(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	tmp := data + ".importing"
	leftover := func() {
		t.Helper()
		if err := os.MkdirAll(tmp, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, "000001.sst"), []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// serve removes the leftover and says so.
	leftover()
	s := startServer(t, data)
	startedLog(t, s)
	if _, err := os.Stat(tmp); err == nil {
		t.Errorf("serve left %s behind", tmp)
	}
	if !strings.Contains(s.Log(), "removed the temporary store of an interrupted import") {
		t.Errorf("serve did not say it removed %s:\n%s", tmp, s.Log())
	}
	s.Stop()
	// import does too, and succeeds.
	leftover()
	file := writeFile(t, "small.ldif", smallLDIF)
	data2 := filepath.Join(dir, "data2")
	tmp2 := data2 + ".importing"
	if err := os.Rename(tmp, tmp2); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, "", "import", "--data", data2, file)
	if code != 0 || !strings.Contains(errOut, "removing "+tmp2+", left by an interrupted import") {
		t.Errorf("import over a leftover: exit %d: %s%s", code, out, errOut)
	}
	if _, err := os.Stat(tmp2); err == nil {
		t.Errorf("import left %s behind", tmp2)
	}
}

func TestE2ETLSRefusesCBCSuites(t *testing.T) {
	s := startTLSServer(t, "none")
	dial := func(suites ...uint16) error {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", s.LDAPS, &tls.Config{
			InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: suites,
		})
		if err == nil {
			c.Close()
		}
		return err
	}
	for _, cs := range []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
		tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	} {
		if err := dial(cs); err == nil {
			t.Errorf("TLS 1.2 handshake with %s succeeded", tls.CipherSuiteName(cs))
		}
	}
	for _, cs := range intermediateSuites {
		if err := dial(cs); err != nil && strings.Contains(tls.CipherSuiteName(cs), keyType(t, s)) {
			t.Errorf("TLS 1.2 handshake with %s failed: %v", tls.CipherSuiteName(cs), err)
		}
	}
}

// keyType returns "ECDSA" or "RSA", the key type of the server's certificate.
func keyType(t *testing.T, s *tlsTestServer) string {
	c, err := tls.Dial("tcp", s.LDAPS, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if strings.Contains(c.ConnectionState().PeerCertificates[0].PublicKeyAlgorithm.String(), "ECDSA") {
		return "ECDSA"
	}
	return "RSA"
}
