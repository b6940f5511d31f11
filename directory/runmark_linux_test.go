//go:build linux

package directory

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunMarkSkipsValueLogReadAfterAProcessDied: a store whose process
// died without closing it (kill -9) opens on the same boot without its
// value log read through, and everything the dead process acknowledged
// is there; the read is still made when the mark names another boot,
// when the store is a copy (other inodes), and when there is no mark. A
// clean close leaves no run mark.
func TestRunMarkSkipsValueLogReadAfterAProcessDied(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	die := func() {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperOpenWriteAndDie$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SWITCHBOARD_HELPER_RUNMARK_STORE="+dir)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "acknowledged") {
			t.Fatalf("helper: %v\n%s", err, out)
		}
		if _, err := os.Stat(filepath.Join(dir, runMark)); err != nil {
			t.Fatalf("no run mark after the process died: %v", err)
		}
	}
	open := func(dir string, wantChecked bool) {
		t.Helper()
		e, err := Open(diskOptions(t, dir))
		must(t, err)
		if e.valueLogChecked != wantChecked {
			t.Errorf("value log read through: %v, want %v", e.valueLogChecked, wantChecked)
		}
		for i := range 30 {
			dn := fmt.Sprintf("cn=u%d,dc=example,dc=com", i)
			if en, err := e.Get(context.Background(), dn); err != nil || en == nil {
				t.Errorf("acknowledged %s: %v, %v", dn, en, err)
			}
		}
		must(t, e.Close())
		if _, err := os.Stat(filepath.Join(dir, runMark)); err == nil {
			t.Error("a clean close left the run mark")
		}
	}

	die()
	open(dir, false)

	die()
	mark := filepath.Join(dir, runMark)
	b, err := os.ReadFile(mark)
	must(t, err)
	boot, rest, _ := strings.Cut(string(b), "\n")
	must(t, os.WriteFile(mark, []byte(boot[:len(boot)-1]+"0\n"+rest), 0o600))
	open(dir, true) // another boot

	die()
	cp := filepath.Join(t.TempDir(), "copy")
	must(t, exec.Command("cp", "-a", dir, cp).Run())
	open(cp, true) // a copy: other inodes

	die()
	must(t, os.Remove(mark))
	open(dir, true) // no mark
}

// TestHelperOpenWriteAndDie is the process TestRunMarkSkipsValueLogRead-
// AfterAProcessDied kills: it opens the store, writes entries of ~3 KB
// (to the value log) and exits without closing it.
func TestHelperOpenWriteAndDie(t *testing.T) {
	dir := os.Getenv("SWITCHBOARD_HELPER_RUNMARK_STORE")
	if dir == "" {
		t.Skip("a helper process of TestRunMarkSkipsValueLogReadAfterAProcessDied")
	}
	e, err := Open(diskOptions(t, dir))
	must(t, err)
	ctx := context.Background()
	if en, _ := e.Get(ctx, "dc=example,dc=com"); en == nil {
		must(t, errOf(e.Add(ctx, "dc=example,dc=com", attrs("objectClass", "top", "dcObject", "organization", "dc", "example", "o", "Example"), WriteOptions{})))
	}
	for i := range 30 {
		dn := fmt.Sprintf("cn=u%d,dc=example,dc=com", i)
		if en, _ := e.Get(ctx, dn); en != nil {
			continue
		}
		must(t, errOf(e.Add(ctx, dn, attrs("objectClass", "person", "cn", fmt.Sprintf("u%d", i), "sn", "x",
			"description", strings.Repeat("d", 3000)), WriteOptions{})))
	}
	fmt.Println("acknowledged")
	os.Exit(3)
}

// FuzzRunMark: runMarkHolds reads whatever RUN-MARK holds without
// failing, and holds only for a mark of this boot naming this directory
// as it is (a mark for another boot or directory never skips the read).
func FuzzRunMark(f *testing.F) {
	dir := f.TempDir()
	id, ok := runIdentity(dir)
	if !ok {
		f.Skip("no run identity here")
	}
	f.Add([]byte(id))
	f.Add([]byte(id + "000001.vlog 1 2\n"))
	f.Add([]byte("boot x\n. 1 2\n"))
	f.Add([]byte(""))
	f.Add([]byte("\n\n"))
	f.Add([]byte(strings.Replace(id, "boot ", "boot 0", 1)))
	boot, _, _ := strings.Cut(id, "\n")
	dirLine := strings.Split(id, "\n")[1]
	f.Fuzz(func(t *testing.T, mark []byte) {
		if err := os.WriteFile(filepath.Join(dir, runMark), mark, 0o600); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(mark), "\n")
		if runMarkHolds(dir) && (len(lines) < 2 || lines[0] != boot || lines[1] != dirLine) {
			t.Fatalf("mark %q holds without this boot's and directory's lines", mark)
		}
	})
}
