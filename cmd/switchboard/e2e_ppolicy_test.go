package main

// End-to-end tests of the password policy overlay
// (draft-behera-ldap-password-policy) with ldapwhoami, ldappasswd and
// ldapsearch against the real server, the policy control asked for with
// "-e ppolicy". Time-based rules use policies of a few seconds.
//
// Exit codes: ldapwhoami exits with the bind's code when the bind fails,
// and 1 when the Who am I operation after it fails; ldappasswd exits 1 on
// a failed Password Modify. The tools print the policy control as
// "ppolicy: error=N (...)" for results and in the ldap_bind line for
// binds.

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const ppolicyDefault = "cn=default,ou=policies," + testSuffix

// startPPolicyServer starts a server with the overlay on, the default
// policy given by defaultPolicy (LDIF attribute lines) and named policies
// under ou=policies (cn -> LDIF attribute lines).
func startPPolicyServer(t *testing.T, defaultPolicy string, named map[string]string) *testServer {
	t.Helper()
	s := startServer(t, "", "--overlays.ppolicy.enabled=true", "--overlays.ppolicy.default="+ppolicyDefault,
		"--passwords.scheme=ssha512")
	var b strings.Builder
	b.WriteString("dn: " + testSuffix + "\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n")
	b.WriteString("dn: ou=policies," + testSuffix + "\nobjectClass: organizationalUnit\nou: policies\n\n")
	b.WriteString("dn: ou=people," + testSuffix + "\nobjectClass: organizationalUnit\nou: people\n\n")
	named["default"] = defaultPolicy
	for cn, attrs := range named {
		fmt.Fprintf(&b, "dn: cn=%s,ou=policies,%s\nobjectClass: organizationalRole\nobjectClass: pwdPolicy\ncn: %s\npwdAttribute: userPassword\n%s\n",
			cn, testSuffix, cn, strings.TrimSpace(attrs)+"\n")
	}
	if out, code := s.ldapTool(t, b.String(), "ldapadd"); code != 0 {
		t.Fatalf("ldapadd: %d\n%s", code, out)
	}
	return s
}

// addUser adds uid=name under ou=people with password pw, governed by the
// named policy ("" for the default). It returns the DN.
func addUser(t *testing.T, s *testServer, name, pw, policy string) string {
	t.Helper()
	dn := "uid=" + name + ",ou=people," + testSuffix
	ldif := fmt.Sprintf("dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nuserPassword: %s\n", dn, name, name, name, pw)
	if policy != "" {
		ldif += "pwdPolicySubentry: cn=" + policy + ",ou=policies," + testSuffix + "\n"
	}
	if out, code := s.ldapTool(t, ldif, "ldapadd"); code != 0 {
		t.Fatalf("add %s: %d\n%s", dn, code, out)
	}
	return dn
}

// whoami binds as dn with pw, asking for the policy control.
func whoami(t *testing.T, s *testServer, dn, pw string) (string, int) {
	t.Helper()
	return s.ldapTool(t, "", "ldapwhoami", "-D", dn, "-w", pw, "-e", "ppolicy")
}

// passwd changes dn's password as dn itself (old pw to newPW).
func passwd(t *testing.T, s *testServer, dn, pw, newPW string) (string, int) {
	t.Helper()
	return s.ldapTool(t, "", "ldappasswd", "-D", dn, "-w", pw, "-e", "ppolicy", "-a", pw, "-s", newPW)
}

// operational returns the values of attr on dn, read by the root DN.
func operational(t *testing.T, s *testServer, dn, attr string) []string {
	t.Helper()
	out, code := s.ldapTool(t, "", "ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-b", dn, "-s", "base", "(objectClass=*)", attr)
	if code != 0 {
		t.Fatalf("ldapsearch %s: %d\n%s", dn, code, out)
	}
	var vals []string
	for _, l := range lines(out) {
		if v, ok := strings.CutPrefix(l, attr+": "); ok {
			vals = append(vals, v)
		}
	}
	return vals
}

func expectOutput(t *testing.T, what, out string, code, wantCode int, wants ...string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("%s: exit %d, want %d\n%s", what, code, wantCode, out)
	}
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output lacks %q\n%s", what, w, out)
		}
	}
}

func TestE2EPasswordPolicy(t *testing.T) {
	s := startPPolicyServer(t, `
pwdLockout: TRUE
pwdMaxFailure: 3
pwdLockoutDuration: 2
`, map[string]string{
		"expiring": "pwdMaxAge: 2\npwdGraceAuthNLimit: 2\n",
		"warning":  "pwdMaxAge: 60\npwdExpireWarning: 3600\n",
		"quiet":    "pwdMaxAge: 3600\npwdExpireWarning: 10\n",
		"history":  "pwdInHistory: 2\n",
		"quality":  "pwdMinLength: 8\npwdCheckQuality: 2\n",
		"reset":    "pwdMustChange: TRUE\n",
	})

	t.Run("RootDSE", func(t *testing.T) {
		out, _ := s.ldapTool(t, "", "ldapsearch", "-LLL", "-b", "", "-s", "base", "supportedControl")
		if !strings.Contains(out, "supportedControl: 1.3.6.1.4.1.42.2.27.8.5.1") {
			t.Errorf("Root DSE does not list the policy control:\n%s", out)
		}
	})

	t.Run("Lockout", func(t *testing.T) {
		dn := addUser(t, s, "lou", "Lock-pass1", "") // the default policy
		for i := range 3 {
			out, code := whoami(t, s, dn, "wrong")
			expectOutput(t, fmt.Sprintf("failure %d", i+1), out, code, 49)
		}
		if got := operational(t, s, dn, "pwdFailureTime"); len(got) != 3 {
			t.Errorf("pwdFailureTime = %q, want 3 values", got)
		}
		if got := operational(t, s, dn, "pwdAccountLockedTime"); len(got) != 1 {
			t.Errorf("pwdAccountLockedTime = %q", got)
		}
		out, code := whoami(t, s, dn, "Lock-pass1")
		expectOutput(t, "right password while locked", out, code, 49, "Account locked")
		time.Sleep(3 * time.Second)
		out, code = whoami(t, s, dn, "Lock-pass1")
		expectOutput(t, "after the lockout duration", out, code, 0, "dn:"+dn)
		if got := operational(t, s, dn, "pwdFailureTime"); len(got) != 0 {
			t.Errorf("pwdFailureTime after success = %q", got)
		}
	})

	t.Run("ExpiryGraceThenRefused", func(t *testing.T) {
		// Regression test for 389-ds CVE-2022-0996: an expired password,
		// its grace logins used up, must not bind.
		dn := addUser(t, s, "eve", "Expire-pass1", "expiring")
		if got := operational(t, s, dn, "pwdChangedTime"); len(got) != 1 {
			t.Fatalf("pwdChangedTime = %q", got)
		}
		out, code := whoami(t, s, dn, "Expire-pass1")
		expectOutput(t, "fresh password", out, code, 0, "dn:"+dn)
		time.Sleep(3 * time.Second)
		out, code = whoami(t, s, dn, "Expire-pass1")
		expectOutput(t, "first grace login", out, code, 1, "Password expired, 1 grace logins remain", "Insufficient access (50)")
		out, code = whoami(t, s, dn, "Expire-pass1")
		expectOutput(t, "second grace login", out, code, 1, "Password expired, 0 grace logins remain")
		if got := operational(t, s, dn, "pwdGraceUseTime"); len(got) != 2 {
			t.Errorf("pwdGraceUseTime = %q", got)
		}
		out, code = whoami(t, s, dn, "Expire-pass1")
		expectOutput(t, "no grace left", out, code, 49, "Password expired")
		out, code = s.ldapTool(t, "", "ldapsearch", "-D", dn, "-w", "Expire-pass1", "-b", testSuffix, "-s", "base", "1.1")
		expectOutput(t, "search with the expired password", out, code, 49)
		// The administrator sets a new password: it binds.
		out, code = s.ldapTool(t, "", "ldappasswd", "-s", "Renewed-pass2", dn)
		expectOutput(t, "admin reset", out, code, 0)
		out, code = whoami(t, s, dn, "Renewed-pass2")
		expectOutput(t, "after the reset", out, code, 0, "dn:"+dn)
	})

	t.Run("GraceLoginChangesPassword", func(t *testing.T) {
		dn := addUser(t, s, "gil", "Grace-pass1", "expiring")
		time.Sleep(3 * time.Second)
		// ldappasswd's bind uses a grace login; the change is allowed.
		out, code := passwd(t, s, dn, "Grace-pass1", "Grace-pass2")
		expectOutput(t, "change in a grace login", out, code, 0)
		out, code = whoami(t, s, dn, "Grace-pass2")
		expectOutput(t, "new password", out, code, 0, "dn:"+dn)
		if strings.Contains(out, "grace") {
			t.Errorf("still in grace after the change:\n%s", out)
		}
	})

	t.Run("ExpiryWarning", func(t *testing.T) {
		dn := addUser(t, s, "wes", "Warn-pass1", "warning")
		out, code := whoami(t, s, dn, "Warn-pass1")
		expectOutput(t, "within pwdExpireWarning", out, code, 0, "Password expires in", "dn:"+dn)
		dn = addUser(t, s, "quinn", "Quiet-pass1", "quiet")
		out, code = whoami(t, s, dn, "Quiet-pass1")
		expectOutput(t, "outside pwdExpireWarning", out, code, 0, "dn:"+dn)
		if strings.Contains(out, "expires") {
			t.Errorf("warned too early:\n%s", out)
		}
	})

	t.Run("History", func(t *testing.T) {
		dn := addUser(t, s, "hal", "History-1", "history")
		out, code := passwd(t, s, dn, "History-1", "History-2")
		expectOutput(t, "first change", out, code, 0)
		out, code = passwd(t, s, dn, "History-2", "History-1")
		expectOutput(t, "back to a recent password", out, code, 1, "Constraint violation (19)", "ppolicy: error=8")
		out, code = passwd(t, s, dn, "History-2", "History-2")
		expectOutput(t, "the current password", out, code, 1, "ppolicy: error=8")
		out, code = passwd(t, s, dn, "History-2", "History-3")
		expectOutput(t, "a new one", out, code, 0)
		out, code = passwd(t, s, dn, "History-3", "History-4")
		expectOutput(t, "another new one", out, code, 0)
		out, code = passwd(t, s, dn, "History-4", "History-1")
		expectOutput(t, "older than the history", out, code, 0)
		// pwdHistory holds hashes; only the root DN may read it.
		out, _ = s.ldapTool(t, "", "ldapsearch", "-LLL", "-D", dn, "-w", "History-1", "-b", dn, "-s", "base", "pwdHistory")
		if strings.Contains(out, "pwdHistory:") {
			t.Errorf("a user can read pwdHistory:\n%s", out)
		}
		if got := operational(t, s, dn, "pwdHistory"); len(got) != 2 {
			t.Errorf("pwdHistory = %q, want 2 values", got)
		}
	})

	t.Run("LengthAndQuality", func(t *testing.T) {
		dn := addUser(t, s, "quill", "Quality-1", "quality")
		out, code := passwd(t, s, dn, "Quality-1", "Ab1-xyz")
		expectOutput(t, "too short", out, code, 1, "Constraint violation (19)", "ppolicy: error=6")
		out, code = passwd(t, s, dn, "Quality-1", "onlylowercase")
		expectOutput(t, "one character class", out, code, 1, "ppolicy: error=5")
		out, code = passwd(t, s, dn, "Quality-1", "my-quill-Pass9")
		expectOutput(t, "contains the uid", out, code, 1, "ppolicy: error=5")
		out, code = passwd(t, s, dn, "Quality-1", "Strong-Pass9")
		expectOutput(t, "good password", out, code, 0)
		// The server-generated password passes the same rule.
		out, code = s.ldapTool(t, "", "ldappasswd", "-D", dn, "-w", "Strong-Pass9", "-e", "ppolicy")
		expectOutput(t, "generated password", out, code, 0, "New password:")
	})

	t.Run("MustChangeAfterAdminReset", func(t *testing.T) {
		dn := addUser(t, s, "rita", "Admin-set-1", "reset")
		if got := operational(t, s, dn, "pwdReset"); len(got) != 1 || got[0] != "TRUE" {
			t.Fatalf("pwdReset = %q", got)
		}
		out, code := whoami(t, s, dn, "Admin-set-1")
		expectOutput(t, "bind after reset", out, code, 1, "Password must be changed", "Insufficient access (50)")
		out, code = s.ldapTool(t, "", "ldapsearch", "-D", dn, "-w", "Admin-set-1", "-e", "ppolicy", "-b", testSuffix, "-s", "base", "1.1")
		expectOutput(t, "search before the change", out, code, 50, "ppolicy: error=2")
		out, code = passwd(t, s, dn, "Admin-set-1", "Rita-own-1")
		expectOutput(t, "own change", out, code, 0)
		if got := operational(t, s, dn, "pwdReset"); len(got) != 0 {
			t.Errorf("pwdReset after own change = %q", got)
		}
		out, code = whoami(t, s, dn, "Rita-own-1")
		expectOutput(t, "after own change", out, code, 0, "dn:"+dn)
		if strings.Contains(out, "must be changed") {
			t.Errorf("still must change:\n%s", out)
		}
		out, code = s.ldapTool(t, "", "ldappasswd", "-s", "Admin-set-2", dn)
		expectOutput(t, "admin resets again", out, code, 0)
		out, code = whoami(t, s, dn, "Admin-set-2")
		expectOutput(t, "after the second reset", out, code, 1, "Password must be changed")
	})
}
