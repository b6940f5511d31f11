package directory_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering checks that imports point down the layers: change <- ldap
// <- directory <- overlays/replication <- cmd. Nothing under directory
// (the engine and its overlays) may depend on replication: the overlays
// that read the change feed know it through their own interfaces.
func TestLayering(t *testing.T) {
	const mod = "github.com/switchboard-ldap/switchboard"
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	for _, tc := range []struct {
		pkgs      string   // the packages, as go list takes them
		forbidden []string // import path prefixes none of them may depend on
	}{
		{mod + "/change", []string{mod + "/"}},
		{mod + "/ldap/...", []string{mod + "/directory", mod + "/replication", mod + "/schema"}},
		{mod + "/directory/...", []string{mod + "/replication", mod + "/cmd", mod + "/admin", mod + "/web"}},
		// The web surfaces are LDAP clients of the server (package web).
		{mod + "/web", []string{mod + "/directory", mod + "/replication", mod + "/cmd", mod + "/admin"}},
	} {
		out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", tc.pkgs).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", tc.pkgs, err)
		}
		self := strings.TrimSuffix(tc.pkgs, "/...")
		for _, dep := range strings.Fields(string(out)) {
			if dep == self || strings.HasPrefix(dep, self+"/") {
				continue
			}
			for _, f := range tc.forbidden {
				if dep == strings.TrimSuffix(f, "/") || strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s", tc.pkgs, dep)
				}
			}
		}
	}
}
