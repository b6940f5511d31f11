package main

import (
	"strings"
	"testing"
)

func TestServeDemoSmoke(t *testing.T) {
	s := startServer(t, "", "--demo")
	out, code := s.ldapTool(t, "", "ldapsearch", "-LLL", "-b", testSuffix, "(uid=jmuller)", "mail")
	if code != 0 || !strings.Contains(out, "mail: jose.muller@example.com") {
		t.Fatalf("ldapsearch exit %d:\n%s\nserver log:\n%s", code, out, s.Log())
	}
}
