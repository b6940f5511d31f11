package main

// Tests of the switchboard command line: version, hash-password, import,
// export, serve's generated root password, configuration precedence,
// --help and the admin HTTP endpoints. They run the built binary.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/directory/password"
)

// cliEnv is the environment without any SWITCHBOARD_ variable.
func cliEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SWITCHBOARD_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// runCLI runs the switchboard binary in an empty working directory (so no
// stray ./config.yaml is read) and returns stdout, stderr and the exit code.
func runCLI(t testing.TB, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = t.TempDir()
	cmd.Env = cliEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var xe *exec.ExitError
	if err != nil && !errors.As(err, &xe) {
		t.Fatal(err)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

func TestCLIVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		out, errOut, code := runCLI(t, "", arg)
		if code != 0 || out != "switchboard "+version+"\n" || errOut != "" {
			t.Errorf("switchboard %s: exit %d, stdout %q, stderr %q", arg, code, out, errOut)
		}
	}
	_, errOut, code := runCLI(t, "", "frobnicate")
	if code != 1 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, stderr %q", code, errOut)
	}
}

func TestCLIHashPassword(t *testing.T) {
	const pw = "correct horse battery staple"
	out1, _, code := runCLI(t, pw+"\n", "hash-password")
	out2, _, code2 := runCLI(t, pw, "hash-password") // no trailing newline
	if code != 0 || code2 != 0 {
		t.Fatalf("hash-password exit %d, %d", code, code2)
	}
	for _, out := range []string{out1, out2} {
		h := strings.TrimSuffix(out, "\n")
		if strings.Count(out, "\n") != 1 || !strings.HasPrefix(h, "{ARGON2}$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(h, pw) {
			t.Fatalf("hash-password printed %q", out)
		}
		if ok, err := password.Verify([]byte(h), []byte(pw)); !ok || err != nil {
			t.Errorf("Verify(%q, password) = %v, %v", h, ok, err)
		}
		for _, wrong := range []string{"", "correct horse battery stapl", pw + "\n", strings.ToUpper(pw)} {
			if ok, _ := password.Verify([]byte(h), []byte(wrong)); ok {
				t.Errorf("hash verifies the wrong password %q", wrong)
			}
		}
	}
	if out1 == out2 {
		t.Error("two hashes of the same password are identical: no salt")
	}
	// passwords.scheme picks the scheme.
	if out, _, code := runCLI(t, pw, "hash-password", "--passwords.scheme=pbkdf2-sha512"); code != 0 || !strings.HasPrefix(out, "{PBKDF2-SHA512}210000$") {
		t.Errorf("hash-password --passwords.scheme=pbkdf2-sha512: exit %d, %q", code, out)
	}
	if _, errOut, code := runCLI(t, pw, "hash-password", "--passwords.scheme=md5"); code == 0 || !strings.Contains(errOut, "md5") {
		t.Errorf("hash-password with scheme md5: exit %d, stderr %q", code, errOut)
	}
	if _, errOut, code := runCLI(t, "", "hash-password"); code == 0 || !strings.Contains(errOut, "empty password") {
		t.Errorf("hash-password of nothing: exit %d, stderr %q", code, errOut)
	}

	// The hash works as the root password file.
	f := filepath.Join(t.TempDir(), "root.pw")
	if err := os.WriteFile(f, []byte(out1), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "", "--root-password-file", f)
	if out := e2eMustTool(t, s, 0, "", "ldapwhoami", asUser(testRootDN, pw)...); strings.TrimSpace(out) != "dn:"+testRootDN {
		t.Errorf("bind with the hashed root password: %q", out)
	}
	e2eMustTool(t, s, 49, "", "ldapwhoami", asUser(testRootDN, strings.TrimSuffix(out1, "\n"))...)
}

// smallLDIF is a little directory with its line numbers known.
const smallLDIF = `version: 1

dn: dc=example,dc=com
objectClass: top
objectClass: dcObject
objectClass: organization
dc: example
o: Example Corp

dn: ou=people,dc=example,dc=com
objectClass: organizationalUnit
ou: people

dn: uid=ada,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: ada
cn: Ada Lovelace
sn: Lovelace
mail: ada@example.com
userPassword: analytical

dn: uid=zoe,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: zoe
cn:: Wm/DqyDFgXVrYXNpZXdpY3o=
sn:: xYF1a2FzaWV3aWN6

dn: cn=team,ou=people,dc=example,dc=com
objectClass: groupOfNames
cn: team
member: uid=ada,ou=people,dc=example,dc=com
member: uid=zoe,ou=people,dc=example,dc=com
`

func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCLIImportThenServe(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	in := writeFile(t, "small.ldif", smallLDIF)
	out, errOut, code := runCLI(t, "", "import", "--data", data, "--suffix", testSuffix, in)
	if code != 0 || !strings.HasPrefix(out, "imported 5 entries into "+data) {
		t.Fatalf("import: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	// A second import into the same directory is refused, store intact.
	if _, errOut, code := runCLI(t, "", "import", "--data", data, in); code == 0 || !strings.Contains(errOut, "already holds a store") {
		t.Errorf("import into a full data directory: exit %d, stderr %q", code, errOut)
	}

	s := startServer(t, data)
	es := e2eSearch(t, s, "-b", testSuffix, "(objectClass=*)", "*", "memberOf")
	want := []string{testSuffix, peopleDN, "uid=ada," + peopleDN, "uid=zoe," + peopleDN, "cn=team," + peopleDN}
	if got := dnsOf(es); !slices.Equal(got, sortedLower(want)) {
		t.Fatalf("served entries %q, want %q", got, want)
	}
	zoe := e2eBase(t, s, "uid=zoe,"+peopleDN, "*", "memberOf")
	if zoe.one(t, "cn") != "Zoë Łukasiewicz" || zoe.one(t, "sn") != "Łukasiewicz" {
		t.Errorf("zoe = %v", zoe.Attrs)
	}
	if got := zoe.get("memberOf"); !sameSet(sortedLower(got), []string{"cn=team," + peopleDN}) {
		t.Errorf("imported member has memberOf %q", got)
	}
	// An imported cleartext userPassword works for bind.
	if out := e2eMustTool(t, s, 0, "", "ldapwhoami", asUser("uid=ada,"+peopleDN, "analytical")...); strings.TrimSpace(out) != "dn:uid=ada,"+peopleDN {
		t.Errorf("bind with the imported password: %q", out)
	}
}

func TestCLIImportErrorIsAllOrNothing(t *testing.T) {
	for _, c := range []struct {
		name, ldif string
		line       int
		msg        string
	}{
		// A schema error in the fourth record, whose dn: line is line 22.
		{"unknown attribute", strings.Replace(smallLDIF, "sn:: xYF1a2FzaWV3aWN6\n", "sn:: xYF1a2FzaWV3aWN6\nfavouriteColour: blue\n", 1), 22, "favouriteColour"},
		// A syntax error on line 19.
		{"line without a colon", strings.Replace(smallLDIF, "mail: ada@example.com\n", "this line has no colon\n", 1), 19, ""},
		// A record whose parent is missing (dn: on line 14).
		{"missing parent", strings.Replace(smallLDIF, "dn: uid=ada,ou=people,", "dn: uid=ada,ou=nowhere,", 1), 14, "uid=ada,ou=nowhere"},
	} {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			data := filepath.Join(parent, "data")
			in := writeFile(t, "bad.ldif", c.ldif)
			out, errOut, code := runCLI(t, "", "import", "--data", data, in)
			if code == 0 {
				t.Fatalf("import succeeded: %q", out)
			}
			if !strings.Contains(errOut, fmt.Sprintf("line %d", c.line)) || !strings.Contains(errOut, c.msg) {
				t.Errorf("import error %q does not name line %d (%s)", errOut, c.line, c.msg)
			}
			if !strings.Contains(errOut, "nothing was imported") {
				t.Errorf("import error %q does not say nothing was imported", errOut)
			}
			left, _ := os.ReadDir(parent)
			if len(left) != 0 {
				var names []string
				for _, d := range left {
					names = append(names, d.Name())
				}
				t.Errorf("failed import left %q behind", names)
			}
		})
	}
}

func TestCLIExportRoundTrip(t *testing.T) {
	s := startServer(t, "", "--demo")
	// Some history beyond the demo load: modified, renamed and new entries.
	e2eMustTool(t, s, 0, `dn: `+person("jmuller")+`
changetype: modify
replace: title
title: Exported
-

dn: `+person("kcerny")+`
changetype: modrdn
newrdn: uid=kcerny2
deleteoldrdn: 1

dn: uid=new,`+peopleDN+`
changetype: add
objectClass: inetOrgPerson
uid: new
cn:: TmV3IMOcc2Vy
sn: User
`, "ldapmodify", asRoot()...)
	s.Stop()

	dir := t.TempDir()
	file1 := filepath.Join(dir, "one.ldif")
	if _, errOut, code := runCLI(t, "", "export", "--data", s.Data, file1); code != 0 {
		t.Fatalf("export: exit %d: %s", code, errOut)
	}
	stdout, errOut, code := runCLI(t, "", "export", "--data", s.Data)
	if code != 0 {
		t.Fatalf("export to stdout: exit %d: %s", code, errOut)
	}
	one, err := os.ReadFile(file1)
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(one) {
		t.Error("export to a file and to stdout differ")
	}
	es, err := e2eParseLDIF(string(one))
	if err != nil {
		t.Fatalf("export is not LDIF: %v", err)
	}
	if len(es) != 320 {
		t.Errorf("export has %d entries, want 320", len(es))
	}
	if !strings.EqualFold(es[0].DN, testSuffix) {
		t.Errorf("export starts with %s, not the suffix", es[0].DN)
	}
	seen := map[string]bool{}
	for _, e := range es {
		if parent := strings.SplitN(strings.ToLower(e.DN), ",", 2); len(parent) == 2 && parent[1] != "com" && !seen[parent[1]] && !strings.EqualFold(e.DN, testSuffix) {
			t.Errorf("%s comes before its parent", e.DN)
		}
		seen[strings.ToLower(e.DN)] = true
		if len(e.get("entryUUID")) != 1 || len(e.get("createTimestamp")) != 1 {
			t.Errorf("%s exported without entryUUID/createTimestamp", e.DN)
		}
	}
	for _, dn := range []string{"uid=kcerny2," + peopleDN, "uid=new," + peopleDN} {
		if !seen[strings.ToLower(dn)] {
			t.Errorf("export lacks %s", dn)
		}
	}
	if seen[strings.ToLower(person("kcerny"))] {
		t.Error("export has the old DN of a renamed entry")
	}

	data2 := filepath.Join(t.TempDir(), "data2")
	if out, errOut, code := runCLI(t, "", "import", "--data", data2, file1); code != 0 || !strings.HasPrefix(out, "imported 320 entries") {
		t.Fatalf("import of the export: exit %d, %q %q", code, out, errOut)
	}
	file2 := filepath.Join(dir, "two.ldif")
	if _, errOut, code := runCLI(t, "", "export", "--data", data2, file2); code != 0 {
		t.Fatalf("second export: exit %d: %s", code, errOut)
	}
	two, err := os.ReadFile(file2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(one, two) {
		a, b := strings.Split(string(one), "\n"), strings.Split(string(two), "\n")
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("export → import → export differs at line %d:\n%q\n%q", i+1, a[i], b[i])
			}
		}
		t.Fatalf("export → import → export differs in length: %d vs %d lines", len(a), len(b))
	}
}

// rawServer is a switchboard started directly, with its stdout kept.
type rawServer struct {
	cmd    *exec.Cmd
	stdout string // file
	ts     *testServer
}

// startRaw starts "switchboard serve" without SWITCHBOARD_ROOT_PASSWORD.
func startRaw(t *testing.T, data string, extra ...string) *rawServer {
	t.Helper()
	addr := freePort(t)
	r := &rawServer{stdout: filepath.Join(t.TempDir(), "stdout"), ts: &testServer{Addr: addr, URL: "ldap://" + addr, Data: data}}
	f, err := os.Create(r.stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	args := append([]string{"serve", "--data", data, "--listen", addr, "--admin-listen", "", "--http-listen", "", "--log.level", "warn"}, extra...)
	r.cmd = exec.Command(binary(t), args...)
	r.cmd.Dir = t.TempDir()
	r.cmd.Env = cliEnv()
	r.cmd.Stdout, r.cmd.Stderr = f, f
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.stop)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			if strings.Contains(r.output(), "serving ") { // bound before the store loads
				return r
			}
		}
	}
	t.Fatalf("switchboard did not start:\n%s", r.output())
	return nil
}

func (r *rawServer) output() string {
	b, _ := os.ReadFile(r.stdout)
	return string(b)
}

func (r *rawServer) stop() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		r.cmd.Process.Kill()
		<-done
	}
	r.cmd = nil
}

func TestCLIGeneratedRootPassword(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	r := startRaw(t, data)
	out := r.output()
	hashFile := filepath.Join(data, "root-password.hash")
	head := "Generated a password for " + testRootDN + " (shown once; its hash is in " + hashFile + "):"
	if !strings.Contains(out, head) {
		t.Fatalf("first start did not announce a generated password:\n%s", out)
	}
	m := regexp.MustCompile(`(?m)^    (\S+)$`).FindAllStringSubmatch(out, -1)
	if len(m) != 1 || len(m[0][1]) < 12 {
		t.Fatalf("generated password not found once in:\n%s", out)
	}
	pw := m[0][1]
	stored, err := os.ReadFile(hashFile)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(hashFile); st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", hashFile, st.Mode().Perm())
	}
	if strings.Contains(string(stored), pw) {
		t.Error("the hash file holds the cleartext password")
	}
	if ok, _ := password.Verify(bytes.TrimSpace(stored), []byte(pw)); !ok {
		t.Error("the stored hash does not verify the printed password")
	}
	if got := e2eMustTool(t, r.ts, 0, "", "ldapwhoami", asUser(testRootDN, pw)...); strings.TrimSpace(got) != "dn:"+testRootDN {
		t.Errorf("ldapwhoami with the generated password: %q", got)
	}
	e2eMustTool(t, r.ts, 49, "", "ldapwhoami", asUser(testRootDN, "secret")...)
	// The root DN can write with it.
	e2eMustTool(t, r.ts, 0, "dn: "+testSuffix+"\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: x\n", "ldapadd", asUser(testRootDN, pw)...)
	r.stop()

	r2 := startRaw(t, data)
	if out2 := r2.output(); strings.Contains(out2, "Generated") || strings.Contains(out2, pw) {
		t.Errorf("second start printed a password again:\n%s", out2)
	}
	if got := e2eMustTool(t, r2.ts, 0, "", "ldapwhoami", asUser(testRootDN, pw)...); strings.TrimSpace(got) != "dn:"+testRootDN {
		t.Errorf("ldapwhoami after restart: %q", got)
	}
	if after, _ := os.ReadFile(hashFile); !bytes.Equal(after, stored) {
		t.Error("the hash file changed on the second start")
	}
}

func TestCLIConfigFileEnvFlagPrecedence(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	cfg := writeFile(t, "config.yaml", "limits:\n  size: 7\nlog:\n  level: warn\n"+openReadAccess)
	anonPeople := func(s *testServer, want int) {
		t.Helper()
		got := e2eSearchCode(t, s, 4, "-b", peopleDN, "(objectClass=inetOrgPerson)", "1.1")
		if len(got) != want {
			t.Errorf("anonymous search returned %d entries before sizeLimitExceeded, want %d", len(got), want)
		}
	}

	// The file alone.
	s := startServer(t, data, "--demo", "--config", cfg)
	anonPeople(s, 7)
	s.Stop()

	// The environment beats the file.
	t.Setenv("SWITCHBOARD_LIMITS_SIZE", "5")
	s = startServer(t, data, "--config", cfg)
	anonPeople(s, 5)
	// A smaller client limit still applies; the root DN is not limited.
	if got := e2eSearchCode(t, s, 4, "-z", "2", "-b", peopleDN, "(objectClass=inetOrgPerson)", "1.1"); len(got) != 2 {
		t.Errorf("client size limit 2: %d entries", len(got))
	}
	if got := e2eSearch(t, s, "-b", peopleDN, "(objectClass=inetOrgPerson)", "1.1"); len(got) != 300 {
		t.Errorf("root search: %d entries, want 300", len(got))
	}
	s.Stop()

	// A flag beats the environment.
	s = startServer(t, data, "--config", cfg, "--limits.size", "3")
	anonPeople(s, 3)
	s.Stop()

	// A broken config file is an error, not ignored.
	bad := writeFile(t, "bad.yaml", "limits: [unclosed\n")
	if _, errOut, code := runCLI(t, "", "serve", "--config", bad, "--data", filepath.Join(t.TempDir(), "d"), "--listen", freePort(t), "--admin-listen", "", "--http-listen", ""); code == 0 || !strings.Contains(errOut, bad) {
		t.Errorf("serve with a broken config: exit %d, stderr %q", code, errOut)
	}
}

func TestCLIServeHelp(t *testing.T) {
	out, errOut, code := runCLI(t, "", "serve", "--help")
	if code != 0 {
		t.Errorf("serve --help: exit %d, want 0", code)
	}
	help := out + errOut
	for _, f := range []string{"--data", "--listen", "--admin-listen", "--suffix", "--root-dn", "--root-password-file", "--demo", "--config"} {
		if !regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(f) + `\b`).MatchString(help) {
			t.Errorf("serve --help does not list %s:\n%s", f, help)
		}
	}
	if !strings.Contains(help, "Usage: switchboard serve") {
		t.Errorf("serve --help has no usage line:\n%s", help)
	}
	// Every command has --help.
	for _, c := range []string{"import", "export"} {
		if _, errOut, code := runCLI(t, "", c, "--help"); code != 0 || !strings.Contains(errOut, "--data") {
			t.Errorf("%s --help: exit %d: %q", c, code, errOut)
		}
	}
	if out, _, code := runCLI(t, "", "--help"); code != 0 || !strings.Contains(out, "hash-password") {
		t.Errorf("--help: exit %d: %q", code, out)
	}
}

func TestCLIAdminHTTP(t *testing.T) {
	s := startServer(t, "", "--demo")
	e2eSearchCode(t, s, 0, "-b", testSuffix, "(uid=jmuller)", "1.1")
	e2eMustTool(t, s, 49, "", "ldapwhoami", asUser(testRootDN, "wrong")...)
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + s.Admin + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := get(p); code != http.StatusOK {
			t.Errorf("GET %s: %d %q", p, code, body)
		}
	}
	code, body := get("/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", code)
	}
	metric := func(re string) float64 {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + re + ` ([0-9.e+]+)$`).FindStringSubmatch(body)
		if m == nil {
			t.Errorf("/metrics has no %s", re)
			return -1
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	if v := metric(`switchboard_entries`); v != 319 {
		t.Errorf("switchboard_entries = %v, want 319", v)
	}
	if v := metric(`switchboard_ldap_operations_total\{code="0",op="searchRequest"\}`); v < 1 {
		t.Errorf("successful searches counted %v", v)
	}
	if v := metric(`switchboard_ldap_operations_total\{code="49",op="bindRequest"\}`); v < 1 {
		t.Errorf("failed binds counted %v", v)
	}
	if code, _ := get("/no-such-page"); code != http.StatusNotFound {
		t.Errorf("GET /no-such-page: %d", code)
	}
}
