package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestE2EAuditLog drives writes and binds through the real ldap-utils,
// then checks the audit log with `switchboard audit verify`, intact and
// tampered with.
func TestE2EAuditLog(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "audit.log")
	s := startServer(t, "", "--audit.file", logPath)
	tool := func(stdin, name string, args ...string) string {
		t.Helper()
		out, code := s.ldapTool(t, stdin, name, args...)
		if code != 0 {
			t.Fatalf("%s %v: exit %d\n%s", name, args, code, out)
		}
		return out
	}
	tool(`dn: dc=example,dc=com
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: uid=ada,dc=example,dc=com
objectClass: inetOrgPerson
uid: ada
cn: Ada Lovelace
sn: Lovelace
userPassword: s3cret-ada
`, "ldapadd")
	tool("dn: uid=ada,dc=example,dc=com\nchangetype: modify\nreplace: description\ndescription: Zoë\n-\n", "ldapmodify")
	tool("", "ldapwhoami", "-D", "uid=ada,dc=example,dc=com", "-w", "s3cret-ada")
	if out, code := s.ldapTool(t, "", "ldapwhoami", "-D", "uid=ada,dc=example,dc=com", "-w", "wrong-pw"); code != 49 {
		t.Fatalf("bind with a wrong password: exit %d\n%s", code, out)
	}
	if out, code := s.ldapTool(t, "", "ldapwhoami", "-D", testRootDN, "-w", "wrong-root-pw"); code != 49 {
		t.Fatalf("root bind with a wrong password: exit %d\n%s", code, out)
	}
	tool("", "ldapdelete", "uid=ada,dc=example,dc=com")
	s.Stop()

	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	log := string(data)
	for _, want := range []string{
		"# op: add\n# result: 0 success\ndn: uid=ada,dc=example,dc=com\nchangetype: add\n",
		"userPassword: {REDACTED}\n",
		"replace: description\ndescription:: Wm/Dqw==\n-\n",
		"# bind dn=uid=ada,dc=example,dc=com result=0\n",
		"# result: 49 invalidCredentials\n# diagnostic: invalid credentials\n# bind dn=uid=ada,dc=example,dc=com result=49\n",
		"# bind dn=" + testRootDN + " result=49\n",
		"# bind dn=" + testRootDN + " result=0\n",
		"# who: " + testRootDN + "\n# from: 127.0.0.1:",
		"changetype: delete\n",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %q", want)
		}
	}
	for _, secret := range []string{"s3cret-ada", "wrong-pw", "wrong-root-pw", testRootPass} {
		if strings.Contains(log, secret) {
			t.Errorf("audit log contains the password %q", secret)
		}
	}

	out, errOut, code := runCLI(t, "", "audit", "verify", logPath)
	if code != 0 || !strings.Contains(out, "OK: ") {
		t.Fatalf("verify of the intact log: exit %d\n%s%s", code, out, errOut)
	}

	lines := strings.SplitAfter(log, "\n")
	// Edit one line: the description value of the modify record.
	edited := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "description:: ") {
			lines[i] = "description: Zoe\n"
			edited = i + 1
			break
		}
	}
	tampered := filepath.Join(dir, "edited.log")
	os.WriteFile(tampered, []byte(strings.Join(lines, "")), 0o600)
	_, errOut, code = runCLI(t, "", "audit", "verify", tampered)
	if code == 0 {
		t.Fatal("verify passed an edited log")
	}
	assertNamesLine(t, errOut, edited)

	// Delete one line: the "# who:" line of the last record.
	lines = strings.SplitAfter(log, "\n")
	deleted := -1
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "# who: ") {
			deleted = i + 1
			lines = append(lines[:i], lines[i+1:]...)
			break
		}
	}
	os.WriteFile(tampered, []byte(strings.Join(lines, "")), 0o600)
	_, errOut, code = runCLI(t, "", "audit", "verify", tampered)
	if code == 0 {
		t.Fatal("verify passed a log with a line deleted")
	}
	// Lines after the deleted one moved up by one.
	assertNamesLine(t, errOut, deleted-1)
}

// assertNamesLine checks that a verify error names a line range (or line)
// that contains line.
func assertNamesLine(t *testing.T, msg string, line int) {
	t.Helper()
	m := regexp.MustCompile(`lines? (\d+)(?:-(\d+))?`).FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("verify error names no line: %s", msg)
	}
	from, _ := strconv.Atoi(m[1])
	to := from
	if m[2] != "" {
		to, _ = strconv.Atoi(m[2])
	}
	if line < from || line > to {
		t.Fatalf("verify error %q does not cover line %d", strings.TrimSpace(msg), line)
	}
}
