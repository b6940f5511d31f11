package replication_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestLayering checks the layering of the replication packages (see the
// package doc). The merge rules are pure: package merge depends on no
// store, no HTTP and no other replication package, and itself imports
// nothing that does I/O (package ldap, which it imports for DNs, holds
// the protocol's server too, so the check on net and os is on merge's
// own imports). Package wire, the pull and snapshot messages, is as
// pure, but for package merge. Package changelog, the change log, sits
// below the Replicator: it imports neither package replication nor the
// HTTP surface (it knows the Replicator only as a changelog.Bounds). The HTTP surface is package adminhttp's
// alone: package replication does not import net/http itself.
func TestLayering(t *testing.T) {
	const mod = "github.com/switchboard-ldap/switchboard"
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	for _, tc := range []struct {
		pkg       string   // the package, as go list takes it
		forbidden []string // import path prefixes it may not depend on
		module    []string // the packages of this module it may import (nil: any)
		not       []string // packages it may not depend on (exact paths)
		io        bool     // whether it may import I/O packages itself
		direct    []string // packages it may not import itself
	}{
		{
			pkg: mod + "/replication/merge",
			forbidden: []string{
				mod + "/directory", mod + "/schema", mod + "/replication/", mod + "/cmd",
				"github.com/dgraph-io/", "net/http", "database/",
			},
			module: []string{mod + "/change", mod + "/ldap"},
		},
		{
			pkg: mod + "/replication/wire",
			forbidden: []string{
				mod + "/directory", mod + "/schema", mod + "/replication/adminhttp", mod + "/cmd",
				"github.com/dgraph-io/", "net/http", "database/",
			},
			module: []string{mod + "/change", mod + "/replication/merge"},
		},
		{
			pkg:       mod + "/replication/changelog",
			forbidden: []string{mod + "/replication/adminhttp", mod + "/cmd"},
			not:       []string{mod + "/replication"},
			io:        true,
			direct:    []string{"net/http"},
		},
		{pkg: mod + "/replication", io: true, direct: []string{"net/http"}},
	} {
		out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", tc.pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", tc.pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == tc.pkg {
				continue
			}
			if slices.Contains(tc.not, dep) {
				t.Errorf("%s depends on %s", tc.pkg, dep)
			}
			for _, f := range tc.forbidden {
				if dep == strings.TrimSuffix(f, "/") || strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s", tc.pkg, dep)
				}
			}
		}
		out, err = exec.Command(goTool, "list", "-f", `{{join .Imports "\n"}}`, tc.pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", tc.pkg, err)
		}
		for _, imp := range strings.Fields(string(out)) {
			if tc.module != nil && strings.HasPrefix(imp, mod+"/") && !slices.Contains(tc.module, imp) {
				t.Errorf("%s imports %s", tc.pkg, imp)
			}
			if slices.Contains(tc.direct, imp) {
				t.Errorf("%s imports %s", tc.pkg, imp)
			}
			if !tc.io && isIO(imp) {
				t.Errorf("%s imports %s, which does I/O", tc.pkg, imp)
			}
		}
	}
}

// isIO reports whether a standard library package reads or writes
// files, sockets or processes.
func isIO(pkg string) bool {
	for _, p := range []string{"net", "os", "io/fs", "io/ioutil", "syscall", "crypto/tls", "log", "path/filepath", "runtime/pprof"} {
		if pkg == p || strings.HasPrefix(pkg, p+"/") {
			return true
		}
	}
	return false
}
