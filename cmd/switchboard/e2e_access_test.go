package main

// Access control through real LDAP operations against the binary: a
// matrix of every subject kind x every right x {entry, attribute}, the
// default rules, and reloading the rules.

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

const matrixDN = "ou=matrix," + testSuffix

// The subject kinds, the clause that names each in the rules, and the
// identity its client connects as (see matrixClient).
var matrixSubjects = []struct{ kind, who string }{
	{"anonymous", "anonymous"},
	{"self", "self"},
	{"users", "users"},
	{"dn", `dn.exact="uid=u2,ou=people,dc=example,dc=com"`},
	{"group", `group="cn=outer,ou=groups,dc=example,dc=com"`}, // u3 is in inner, inner in outer
	{"network", "network=127.0.0.0/8"},
	{"tls", "tls"},
}

var matrixRights = []string{"none", "disclose", "auth", "compare", "search", "read", "write", "add", "delete"}

// attrRightsOf is what the attributes of an entry-dimension target grant:
// read, plus the add and delete halves of the right under test (adding a
// child needs add on its attributes too).
func attrRightsOf(right string) string {
	switch right {
	case "write", "add", "delete":
		return right
	}
	return "read"
}

// matrixRules builds the rules: for each subject kind and right, the
// entry target e-KIND-RIGHT grants RIGHT on its entry and children, and
// the attribute target a-KIND-RIGHT grants RIGHT on description and
// userPassword (and read on the entry). Everyone else gets nothing.
func matrixRules() []string {
	var rules []string
	for _, s := range matrixSubjects {
		extra := ""
		if s.kind == "self" {
			extra = " by anonymous auth" // so that the entry can bind as itself
		}
		for _, r := range matrixRights {
			e := fmt.Sprintf(`dn.subtree="cn=e-%s-%s,%s"`, s.kind, r, matrixDN)
			a := fmt.Sprintf(`dn.base="cn=a-%s-%s,%s"`, s.kind, r, matrixDN)
			rules = append(rules,
				fmt.Sprintf("to %s attrs=entry,children by %s %s by * none", e, s.who, r),
				fmt.Sprintf("to %s attrs=userPassword by %s %s%s by * none", e, s.who, attrRightsOf(r), extra),
				fmt.Sprintf("to %s by %s %s by * none", e, s.who, attrRightsOf(r)),
				fmt.Sprintf("to %s attrs=description,userPassword by %s %s%s by * none", a, s.who, r, extra),
				fmt.Sprintf("to %s by %s read by * none", a, s.who),
			)
		}
	}
	return append(rules,
		// Bystander targets: rules naming subjects no test client is.
		fmt.Sprintf(`to dn.base="cn=x-network,%s" by network=192.0.2.0/24 read by * none`, matrixDN),
		fmt.Sprintf(`to dn.base="ou=matrix,%s" attrs=children by * write`, testSuffix),
		`to dn.subtree="ou=people,dc=example,dc=com" attrs=userPassword by anonymous auth by * none`,
		`to * by * none`,
	)
}

func writeAccessConfig(t *testing.T, rules []string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("access:\n  rules:\n")
	for _, r := range rules {
		fmt.Fprintf(&b, "    - '%s'\n", strings.ReplaceAll(r, "'", "''"))
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadMatrix adds the people, the nested groups and the targets as root.
func loadMatrix(t *testing.T, s *testServer) {
	t.Helper()
	var ldif strings.Builder
	ldif.WriteString("dn: ou=people," + testSuffix + "\nobjectClass: organizationalUnit\nou: people\n\n")
	ldif.WriteString("dn: ou=groups," + testSuffix + "\nobjectClass: organizationalUnit\nou: groups\n\n")
	ldif.WriteString("dn: " + matrixDN + "\nobjectClass: organizationalUnit\nou: matrix\n\n")
	for _, u := range []string{"u1", "u2", "u3"} {
		fmt.Fprintf(&ldif, "dn: uid=%s,ou=people,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nuserPassword: pw\n\n", u, testSuffix, u, u, u)
	}
	fmt.Fprintf(&ldif, "dn: cn=inner,ou=groups,%s\nobjectClass: groupOfNames\ncn: inner\nmember: uid=u3,ou=people,%s\n\n", testSuffix, testSuffix)
	fmt.Fprintf(&ldif, "dn: cn=outer,ou=groups,%s\nobjectClass: groupOfNames\ncn: outer\nmember: cn=inner,ou=groups,%s\n\n", testSuffix, testSuffix)
	target := func(cn string) {
		fmt.Fprintf(&ldif, "dn: cn=%s,%s\nobjectClass: inetOrgPerson\ncn: %s\nsn: t\ndescription: v\nuserPassword: pw\n\n", cn, matrixDN, cn)
	}
	for _, sub := range matrixSubjects {
		for _, r := range matrixRights {
			target("e-" + sub.kind + "-" + r)
			target("a-" + sub.kind + "-" + r)
		}
	}
	target("x-network")
	fmt.Fprintf(&ldif, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n", testSuffix)
	// The suffix first.
	text := ldif.String()
	i := strings.LastIndex(text, "dn: "+testSuffix+"\n")
	text = text[i:] + text[:i]
	s.ldapTool(t, text, "ldapadd")
	if out, code := s.ldapTool(t, text[:0], "ldapsearch", "-b", matrixDN, "-s", "one", "1.1"); code != 0 {
		t.Fatalf("matrix not loaded: %s", out)
	}
}

// matrixClient connects as the subject kind's identity for target dn.
func matrixClient(t *testing.T, s *tlsTestServer, kind, dn string) *goldap.Conn {
	t.Helper()
	c, err := goldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.SetTimeout(30 * time.Second)
	t.Cleanup(func() { c.Close() })
	bind := func(who string) {
		if err := c.Bind(who, "pw"); err != nil {
			t.Fatalf("%s: bind as %s: %v", kind, who, err)
		}
	}
	switch kind {
	case "self":
		bind(dn)
	case "users":
		bind("uid=u1,ou=people," + testSuffix)
	case "dn":
		bind("uid=u2,ou=people," + testSuffix)
	case "group":
		bind("uid=u3,ou=people," + testSuffix)
	case "tls":
		if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
			t.Fatalf("StartTLS: %v", err)
		}
	}
	return c
}

// code returns the LDAP result code of err (0 for nil).
func code(err error) uint16 {
	if err == nil {
		return 0
	}
	if e, ok := err.(*goldap.Error); ok {
		return e.ResultCode
	}
	return 0xFFFF
}

// has reports whether the right name grants the privilege p in
// [dxcsraz], per the access package's levels.
func has(right string, p byte) bool {
	order := "dxcsr" // cumulative up to read
	switch right {
	case "write":
		return true
	case "add":
		return p != 'z'
	case "delete":
		return p != 'a'
	}
	level := map[string]int{"none": 0, "disclose": 1, "auth": 2, "compare": 3, "search": 4, "read": 5}[right]
	i := strings.IndexByte(order, p)
	return i >= 0 && i < level
}

// orDenied is want when the privilege is granted, else 50 if the entry
// may be disclosed, else 32.
func orDenied(granted, disclosed bool, want uint16) uint16 {
	switch {
	case granted:
		return want
	case disclosed:
		return goldap.LDAPResultInsufficientAccessRights
	}
	return goldap.LDAPResultNoSuchObject
}

func TestE2EAccessMatrix(t *testing.T) {
	// SSHA-512 keeps the hundreds of binds quick.
	s := startTLSServer(t, "none", "--config", writeAccessConfig(t, matrixRules()), "--passwords.scheme", "ssha512")
	loadMatrix(t, s.testServer)

	for _, sub := range matrixSubjects {
		for _, right := range matrixRights {
			t.Run(sub.kind+"/"+right+"/entry", func(t *testing.T) {
				dn := fmt.Sprintf("cn=e-%s-%s,%s", sub.kind, right, matrixDN)
				c := matrixClient(t, s, sub.kind, dn)
				disclosed := has(right, 'd')

				// Base search: search on the entry to look, read to get it.
				res, err := c.Search(searchReq(dn, goldap.ScopeBaseObject, "(objectClass=*)", "cn"))
				want := orDenied(has(right, 's'), disclosed, 0)
				if got := code(err); got != want {
					t.Errorf("search: code %d, want %d (%v)", got, want, err)
				} else if err == nil && (len(res.Entries) == 1) != has(right, 'r') {
					t.Errorf("search: %d entries with right %s", len(res.Entries), right)
				}
				// Add a child: add on children and on the new entry. For
				// self the new entry is not self: refused even with add.
				child := "cn=c," + dn
				add := goldap.NewAddRequest(child, nil)
				add.Attribute("objectClass", []string{"person"})
				add.Attribute("cn", []string{"c"})
				add.Attribute("sn", []string{"c"})
				want = orDenied(has(right, 'a') && sub.kind != "self", disclosed, 0)
				if got := code(c.Add(add)); got != want {
					t.Errorf("add child: code %d, want %d", got, want)
				}
				if want == 0 {
					s.ldapTool(t, "", "ldapdelete", child)
				}
				// Delete the entry itself: delete on the entry.
				want = orDenied(has(right, 'z'), disclosed, 0)
				if got := code(c.Del(goldap.NewDelRequest(dn, nil))); got != want {
					t.Errorf("delete: code %d, want %d", got, want)
				}
			})
			t.Run(sub.kind+"/"+right+"/attribute", func(t *testing.T) {
				dn := fmt.Sprintf("cn=a-%s-%s,%s", sub.kind, right, matrixDN)
				c := matrixClient(t, s, sub.kind, dn)

				// A filter on the attribute needs search; returning it, read.
				res, err := c.Search(searchReq(dn, goldap.ScopeBaseObject, "(description=v)", "description"))
				switch {
				case err != nil:
					t.Errorf("search: %v", err)
				case !has(right, 's') && len(res.Entries) != 0:
					t.Errorf("search: (description=v) matched without the search right")
				case has(right, 's') && len(res.Entries) != 1:
					t.Errorf("search: (description=v) did not match with the search right")
				case len(res.Entries) == 1 && (res.Entries[0].GetAttributeValue("description") == "v") != has(right, 'r'):
					t.Errorf("search: description returned %q with right %s", res.Entries[0].GetAttributeValue("description"), right)
				}
				// Compare.
				ok, err := c.Compare(dn, "description", "v")
				if want := orDenied(has(right, 'c'), true, 0); code(err) != want || (err == nil && !ok) {
					t.Errorf("compare: %v, %v; want code %d and true", ok, err, want)
				}
				// Modify: add a value, then delete one.
				mod := goldap.NewModifyRequest(dn, nil)
				mod.Add("description", []string{"n"})
				if got, want := code(c.Modify(mod)), orDenied(has(right, 'a'), true, 0); got != want {
					t.Errorf("modify add value: code %d, want %d", got, want)
				}
				mod = goldap.NewModifyRequest(dn, nil)
				mod.Delete("description", []string{"v"})
				if got, want := code(c.Modify(mod)), orDenied(has(right, 'z'), true, 0); got != want {
					t.Errorf("modify delete value: code %d, want %d", got, want)
				}
				// Bind as the target: auth on userPassword, checked as the
				// anonymous subject the connection becomes during a bind
				// (network and tls still apply; self's rules add
				// "anonymous auth" so that it can bind at all).
				wantBind := uint16(goldap.LDAPResultInvalidCredentials)
				switch sub.kind {
				case "anonymous", "network", "tls":
					if has(right, 'x') {
						wantBind = 0
					}
				case "self":
					wantBind = 0
				}
				if got := code(c.Bind(dn, "pw")); got != wantBind {
					t.Errorf("bind as the target: code %d, want %d", got, wantBind)
				}
			})
		}
	}

	// Bystanders: identities the rules do not name get nothing, and learn
	// nothing of the entry's existence (32, never 50).
	for _, tc := range []struct{ kind, as, target string }{
		{"anonymous", "users", "e-anonymous-read"},
		{"self", "users", "e-self-read"},
		{"users", "anonymous", "e-users-read"},
		{"dn", "users", "e-dn-read"},
		{"group", "users", "e-group-read"},
		{"network", "anonymous", "x-network"},
		{"tls", "anonymous", "e-tls-read"},
	} {
		dn := "cn=" + tc.target + "," + matrixDN
		c := matrixClient(t, s, tc.as, dn)
		_, err := c.Search(searchReq(dn, goldap.ScopeBaseObject, "(objectClass=*)"))
		if code(err) != goldap.LDAPResultNoSuchObject {
			t.Errorf("%s rule, %s client: search %v, want noSuchObject", tc.kind, tc.as, err)
		}
		if _, err := c.Compare(dn, "cn", tc.target); code(err) != goldap.LDAPResultNoSuchObject {
			t.Errorf("%s rule, %s client: compare %v, want noSuchObject", tc.kind, tc.as, err)
		}
	}
}

// TestE2EAccessDefaults runs the built-in rules (no access section) and
// then reloads the rules from the changed file and on SIGHUP.
func TestE2EAccessDefaults(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("access:\n  admin_group: cn=acl-admins,ou=groups,dc=example,dc=com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "", "--demo", "--config", cfg, "--passwords.scheme", "ssha512")
	root := dialRoot(t, s)
	jm := person("jmuller")
	for _, dn := range []string{jm, person("rtaylor")} {
		if err := root.Modify(func() *goldap.ModifyRequest {
			m := goldap.NewModifyRequest(dn, nil)
			m.Replace("userPassword", []string{"pw"})
			return m
		}()); err != nil {
			t.Fatal(err)
		}
	}
	// The admin group holds rtaylor through a nested group.
	for _, g := range [][2]string{{"acl-inner", person("rtaylor")}, {"acl-admins", "cn=acl-inner,ou=groups," + testSuffix}} {
		add := goldap.NewAddRequest("cn="+g[0]+",ou=groups,"+testSuffix, nil)
		add.Attribute("objectClass", []string{"groupOfNames"})
		add.Attribute("cn", []string{g[0]})
		add.Attribute("member", []string{g[1]})
		if err := root.Add(add); err != nil {
			t.Fatal(err)
		}
	}

	// Anonymous: the Root DSE and the schema, nothing else, no existence.
	anon := dialE2E(t, s, "", "")
	if res, err := anon.Search(searchReq("", goldap.ScopeBaseObject, "(objectClass=*)", "namingContexts")); err != nil || len(res.Entries) != 1 {
		t.Errorf("anonymous Root DSE: %v", err)
	}
	if res, err := anon.Search(searchReq("cn=Subschema", goldap.ScopeBaseObject, "(objectClass=*)", "objectClasses")); err != nil || len(res.Entries) != 1 {
		t.Errorf("anonymous subschema: %v", err)
	}
	_, err := anon.Search(searchReq(testSuffix, goldap.ScopeWholeSubtree, "(uid=jmuller)"))
	wantCode(t, "anonymous search of the suffix", err, goldap.LDAPResultNoSuchObject)
	_, err = anon.Search(searchReq("uid=nobody,ou=people,"+testSuffix, goldap.ScopeBaseObject, "(objectClass=*)"))
	if e, ok := err.(*goldap.Error); !ok || e.ResultCode != goldap.LDAPResultNoSuchObject || e.MatchedDN != "" {
		t.Errorf("anonymous search of a missing entry: %v (matchedDN must stay empty)", err)
	}

	// A user reads the directory but not userPassword, changes their own
	// phone and password, and nobody else's.
	user := dialE2E(t, s, jm, "pw")
	res, err := user.Search(searchReq(testSuffix, goldap.ScopeWholeSubtree, "(uid=rtaylor)", "*"))
	if err != nil || len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("cn") == "" || res.Entries[0].GetAttributeValue("userPassword") != "" {
		t.Fatalf("user search: %v %v", err, res)
	}
	// A filter may test only the user's own password (self write).
	if res, err := user.Search(searchReq(testSuffix, goldap.ScopeWholeSubtree, "(userPassword=*)", "1.1")); err != nil || len(res.Entries) != 1 || !strings.EqualFold(res.Entries[0].DN, jm) {
		t.Errorf("(userPassword=*) for a user: %v %v; want their own entry only", err, res)
	}
	phone := func(c *goldap.Conn, dn string) error {
		m := goldap.NewModifyRequest(dn, nil)
		m.Replace("telephoneNumber", []string{"+1 555 0100"})
		return c.Modify(m)
	}
	wantCode(t, "own phone", phone(user, jm), 0)
	wantCode(t, "another's phone", phone(user, person("rtaylor")), goldap.LDAPResultInsufficientAccessRights)
	m := goldap.NewModifyRequest(jm, nil)
	m.Replace("title", []string{"x"})
	wantCode(t, "own title", user.Modify(m), goldap.LDAPResultInsufficientAccessRights)
	_, err = user.PasswordModify(goldap.NewPasswordModifyRequest("", "pw", "pw2"))
	wantCode(t, "own password", err, 0)
	_, err = user.PasswordModify(goldap.NewPasswordModifyRequest(person("rtaylor"), "", "x"))
	wantCode(t, "another's password", err, goldap.LDAPResultInsufficientAccessRights)
	if ok, err := user.Compare(person("rtaylor"), "userPassword", "pw"); ok || code(err) != goldap.LDAPResultInsufficientAccessRights {
		t.Errorf("compare userPassword: %v %v", ok, err)
	}

	// The admin group writes everything.
	admin := dialE2E(t, s, person("rtaylor"), "pw")
	wantCode(t, "admin changes another's phone", phone(admin, jm), 0)
	_, err = admin.PasswordModify(goldap.NewPasswordModifyRequest(jm, "", "pw3"))
	wantCode(t, "admin sets a password", err, 0)

	// Reload: the file changes to rules that let anonymous read people.
	rules := "access:\n  rules:\n    - 'to dn.subtree=\"ou=people,dc=example,dc=com\" attrs=entry,objectClass,cn,uid by * read'\n    - 'to * by * none'\n"
	if err := os.WriteFile(cfg, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	anonCanRead := func() bool {
		c := dialE2E(t, s, "", "")
		res, err := c.Search(searchReq(jm, goldap.ScopeBaseObject, "(objectClass=*)", "cn", "mail"))
		return err == nil && len(res.Entries) == 1 && res.Entries[0].GetAttributeValue("cn") != "" && res.Entries[0].GetAttributeValue("mail") == ""
	}
	deadline := time.Now().Add(15 * time.Second)
	for !anonCanRead() {
		if time.Now().After(deadline) {
			t.Fatalf("rules not reloaded after the file changed; log:\n%s", s.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A broken file is refused and the running rules stay.
	if err := os.WriteFile(cfg, []byte("access:\n  rules:\n    - 'to * by * reed'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if !anonCanRead() || !strings.Contains(s.Log(), "access rule 1: column 11") {
		t.Errorf("broken rules: the old ones must stay and the error be logged; log:\n%s", s.Log())
	}
	// SIGHUP reloads too (same mtime trick avoided: the signal alone).
	if err := os.WriteFile(cfg, []byte("access:\n  rules:\n    - 'to * by * none'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd.Process.Signal(syscall.SIGHUP)
	deadline = time.Now().Add(15 * time.Second)
	for anonCanRead() {
		if time.Now().After(deadline) {
			t.Fatal("rules not reloaded on SIGHUP")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
