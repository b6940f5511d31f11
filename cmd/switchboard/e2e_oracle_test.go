package main

// No existence oracle (issue 14, H1): for every operation, an entry the
// client may not see is answered exactly as a missing one is (result
// code, matchedDN and diagnostic), over a real socket against the binary.

import (
	"fmt"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
)

// oracleRules hide ou=secret and cn=hid,ou=open from everyone but the
// root DN, let users rename entries of ou=play, and let everyone read the
// rest and bind.
var oracleRules = []string{
	`to dn.subtree="ou=secret,dc=example,dc=com" by * none`,
	`to dn.base="cn=hid,ou=open,dc=example,dc=com" by * none`,
	`to attrs=userPassword by self write by anonymous auth by * none`,
	`to dn.subtree="ou=play,dc=example,dc=com" attrs=entry,children by users write by * read`,
	`to * by * read`,
}

// response is what a client learns from an operation's result.
type response struct {
	Code      uint16
	MatchedDN string
	Text      string
}

func (r response) String() string {
	return fmt.Sprintf("%d matched=%q %q", r.Code, r.MatchedDN, r.Text)
}

func responseOf(err error) response {
	if err == nil {
		return response{}
	}
	le, ok := err.(*goldap.Error)
	if !ok {
		return response{Code: 0xFFFF, Text: err.Error()}
	}
	r := response{Code: le.ResultCode, MatchedDN: le.MatchedDN}
	if le.Err != nil {
		r.Text = le.Err.Error()
	}
	return r
}

func TestE2ENoExistenceOracle(t *testing.T) {
	s := startServer(t, "", "--config", writeAccessConfig(t, oracleRules), "--passwords.scheme", "ssha512")
	var ldif strings.Builder
	entry := func(dn string, lines ...string) {
		fmt.Fprintf(&ldif, "dn: %s\n%s\n\n", dn, strings.Join(lines, "\n"))
	}
	ou := func(name string) { entry("ou="+name+","+testSuffix, "objectClass: organizationalUnit", "ou: "+name) }
	person := func(dn, cn string) {
		entry(dn, "objectClass: inetOrgPerson", "cn: "+cn, "sn: s", "description: d", "userPassword: pw")
	}
	entry(testSuffix, "objectClass: dcObject", "objectClass: organization", "dc: example", "o: Example")
	for _, name := range []string{"people", "open", "secret", "play"} {
		ou(name)
	}
	person("cn=u1,ou=people,"+testSuffix, "u1")
	person("cn=pub,ou=open,"+testSuffix, "pub")
	person("cn=hid,ou=open,"+testSuffix, "hid")
	person("cn=hid2,ou=secret,"+testSuffix, "hid2")
	person("cn=mover,ou=play,"+testSuffix, "mover")
	if out, code := s.ldapTool(t, ldif.String(), "ldapadd"); code != 0 {
		t.Fatalf("ldapadd: %s", out)
	}

	open, secret := "ou=open,"+testSuffix, "ou=secret,"+testSuffix
	// Each group lists entries that must get the same answers: hidden ones
	// and missing ones, themselves and their would-be children. The
	// matchedDN is the first ancestor the client may see, the same for
	// all of a group.
	groups := []struct {
		name    string
		matched string
		dns     []string
	}{
		{"below the visible ou=open", open, []string{
			"cn=hid," + open,          // exists, hidden
			"cn=nothere," + open,      // missing
			"cn=x,cn=hid," + open,     // missing, below a hidden entry
			"cn=x,cn=nothere," + open, // missing, below a missing entry
		}},
		{"in the hidden ou=secret", testSuffix, []string{
			secret,                          // exists, hidden
			"cn=hid2," + secret,             // exists, hidden
			"cn=nothere," + secret,          // missing, below a hidden entry
			"cn=x,cn=hid2," + secret,        // missing, below a hidden entry
			"ou=nothere," + testSuffix,      // missing, below the visible suffix
			"cn=x,ou=nothere," + testSuffix, // missing, below a missing entry
		}},
	}
	// The operations on a target DN; each returns the response.
	type op struct {
		name string
		run  func(c *goldap.Conn, dn string) error
	}
	ops := []op{
		{"search base", func(c *goldap.Conn, dn string) error {
			_, err := c.Search(searchReq(dn, goldap.ScopeBaseObject, "(objectClass=*)"))
			return err
		}},
		{"search subtree", func(c *goldap.Conn, dn string) error {
			_, err := c.Search(searchReq(dn, goldap.ScopeWholeSubtree, "(cn=*)", "cn"))
			return err
		}},
		{"compare", func(c *goldap.Conn, dn string) error {
			_, err := c.Compare(dn, "description", "d")
			return err
		}},
		{"modify", func(c *goldap.Conn, dn string) error {
			m := goldap.NewModifyRequest(dn, nil)
			m.Replace("description", []string{"x"})
			return c.Modify(m)
		}},
		{"modrdn", func(c *goldap.Conn, dn string) error {
			return c.ModifyDN(goldap.NewModifyDNRequest(dn, "cn=renamed", true, ""))
		}},
		{"modrdn with it as new superior", func(c *goldap.Conn, dn string) error {
			return c.ModifyDN(goldap.NewModifyDNRequest("cn=mover,ou=play,"+testSuffix, "cn=mover", false, dn))
		}},
		{"delete", func(c *goldap.Conn, dn string) error {
			return c.Del(goldap.NewDelRequest(dn, nil))
		}},
		{"add below it", func(c *goldap.Conn, dn string) error {
			a := goldap.NewAddRequest("cn=new,"+dn, nil)
			a.Attribute("objectClass", []string{"person"})
			a.Attribute("cn", []string{"new"})
			a.Attribute("sn", []string{"new"})
			return c.Add(a)
		}},
		{"password modify", func(c *goldap.Conn, dn string) error {
			_, err := c.PasswordModify(goldap.NewPasswordModifyRequest(dn, "", "new"))
			return err
		}},
		{"bind", func(c *goldap.Conn, dn string) error {
			return c.Bind(dn, "pw")
		}},
	}
	noSuch := func(matched string) response {
		return response{Code: goldap.LDAPResultNoSuchObject, MatchedDN: matched, Text: "no such object"}
	}
	// An anonymous session gets the same hint to bind with every
	// noSuchObject, missing or hidden.
	const anonymousNoSuch = "no such object (this session is anonymous: entries the access rules show only to authenticated users look missing; bind first)"
	invalid := response{Code: goldap.LDAPResultInvalidCredentials, Text: "invalid credentials"}
	denied := func(r response) bool { return r.Code == goldap.LDAPResultInsufficientAccessRights }
	for _, who := range []string{"", "cn=u1,ou=people," + testSuffix} {
		name := "anonymous"
		if who != "" {
			name = "user"
		}
		// A fresh connection per operation: a bind changes the session.
		dial := func(t *testing.T) *goldap.Conn {
			if who == "" {
				return dialE2E(t, s, "", "")
			}
			return dialE2E(t, s, who, "pw")
		}
		for _, o := range ops {
			t.Run(name+"/"+o.name, func(t *testing.T) {
				for _, g := range groups {
					want := noSuch(g.matched)
					if who == "" {
						want.Text = anonymousNoSuch
					}
					switch {
					case o.name == "bind":
						want = invalid
					case o.name == "password modify" && who == "":
						want = response{Code: goldap.LDAPResultUnwillingToPerform, Text: "password modify requires an authenticated session"}
					case o.name == "modrdn with it as new superior" && who == "":
						// No write on cn=mover: refused before the new
						// superior is looked at.
						want = response{Code: goldap.LDAPResultInsufficientAccessRights, Text: "no write access to the entry"}
					}
					for _, dn := range g.dns {
						if got := responseOf(o.run(dial(t), dn)); got != want {
							t.Errorf("%s: %s: %v; want %v", g.name, dn, got, want)
						}
					}
				}
				// The same operation on a visible entry gets another
				// answer: the table tells hidden from visible.
				got := responseOf(o.run(dial(t), "cn=pub,"+open))
				switch o.name {
				case "search base", "search subtree", "compare":
					if got.Code != 0 && got.Code != goldap.LDAPResultCompareTrue {
						t.Errorf("visible entry: %v; want success", got)
					}
				case "bind":
					if got.Code != 0 {
						t.Errorf("visible entry: %v; want success", got)
					}
				case "password modify":
					if who != "" && !denied(got) {
						t.Errorf("visible entry: %v; want insufficientAccessRights", got)
					}
				case "modrdn with it as new superior":
					if who != "" && !denied(got) {
						t.Errorf("visible entry: %v; want insufficientAccessRights", got)
					}
				default:
					if !denied(got) {
						t.Errorf("visible entry: %v; want insufficientAccessRights", got)
					}
				}
			})
		}
	}
}
