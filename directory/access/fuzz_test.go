package access_test

import (
	"testing"

	"github.com/switchboard-ldap/switchboard/directory/access"
)

// FuzzParse: no input crashes the parser, and what it accepts prints to a
// text it parses back to the same rule.
func FuzzParse(f *testing.F) {
	for _, s := range access.DefaultRules(access.DefaultOptions{AdminGroup: "cn=admins,dc=example,dc=com"}) {
		f.Add(s)
	}
	f.Add(`to dn.subtree="ou=people,dc=example,dc=com" filter=(&(objectClass=person)(!(cn=a b))) attrs=cn,entry,children by self =wrsc by dn.children="dc=x" tls add by network=fe80::/10 delete by * none`)
	f.Add(`to dn="cn=a\"b" by group="cn=g" search`)
	f.Add("to\t*\nby anonymous\rdisclose")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := access.Parse(s)
		if err != nil {
			return
		}
		out := r.String()
		again, err := access.Parse(out)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but its String %q: %v", s, out, err)
		}
		if again.String() != out {
			t.Fatalf("String not stable: %q then %q", out, again.String())
		}
	})
}
