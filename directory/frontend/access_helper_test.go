package frontend

import (
	"testing"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/access"
)

// readablePolicy is what the frontend tests that are not about access
// control run under: everyone reads everything but userPassword, which
// only serves binds; writes are the root DN's.
func readablePolicy(t *testing.T, e *directory.Engine) *access.Policy {
	t.Helper()
	p, err := access.Compile(e, []string{
		"to attrs=userPassword by anonymous auth by * none",
		"to * by * read",
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
