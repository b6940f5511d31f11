package federation

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-ldap/switchboard/directory/access"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// FuzzExportRules: whatever base and filter an export is given that
// parse, its rules parse, and the view rule names exactly that base and
// filter: quoting lets nothing of them change the rule.
func FuzzExportRules(f *testing.F) {
	f.Add("ou=people,dc=example,dc=com", "(departmentNumber=42)", "ou=copy,dc=example,dc=com")
	f.Add(`ou=a\"b,dc=x`, `(cn=a"b)`, `ou=\\,dc=x`)
	f.Add(`cn=x\, by * write,dc=x`, `(cn=*) by * write`, "")
	f.Add("dc=x", `(cn=\5c\22)`, "ou=\" by * write \",dc=x")
	f.Fuzz(func(t *testing.T, base, filter, imported string) {
		if _, err := ldap.ParseDN(base); err != nil {
			return
		}
		if _, err := ldap.ParseFilter(filter); err != nil {
			return
		}
		var bases []string
		if _, err := ldap.ParseDN(imported); err == nil && imported != "" {
			bases = []string{imported}
		}
		for _, scope := range []string{"sub", "one"} {
			ex := &Export{Base: base, Scope: scope, Filter: filter, Attributes: []string{"cn", "mail"}}
			rules := exportRules(ex, bases)
			var view *access.Rule
			for i, text := range rules {
				r, err := access.Parse(text)
				if err != nil {
					t.Fatalf("rule %d %q: %v", i+1, text, err)
				}
				if len(r.By) != 1 || len(r.By[0].Who) != 1 || r.By[0].Who[0].Kind != access.WhoAny {
					t.Fatalf("rule %d %q: clauses %+v", i+1, text, r.By)
				}
				if r.Filter != "" {
					view = r
				}
			}
			if view == nil || view.DN != base || view.Filter != filter || !slices.Contains(view.Attrs, "mail") {
				t.Fatalf("the view rule of base %q filter %q is %+v", base, filter, view)
			}
			if p := view.By[0].Access; p.Has(access.Write) || !p.Has(access.Read) {
				t.Fatalf("the view grants %v", p)
			}
		}
	})
}

// TestRoutesDescribed: every route of the API is in the admin server's
// OpenAPI description.
func TestRoutesDescribed(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "admin", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	routes := (&Federation{}).Routes()
	for route, h := range (&Federation{}).DiscoveryRoutes() {
		routes[route] = h
	}
	for route := range routes {
		method, path, _ := strings.Cut(route, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("%s is not in admin/openapi.json", route)
		}
	}
}
