package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// vdirsyncerPeople is how many people TestCardDAVVdirsyncer syncs:
// SWITCHBOARD_CARDDAV_PEOPLE, else 10,000 (the size: about 40 s).
func vdirsyncerPeople(t *testing.T) int {
	if v := os.Getenv("SWITCHBOARD_CARDDAV_PEOPLE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("SWITCHBOARD_CARDDAV_PEOPLE: %v", err)
		}
		return n
	}
	return 10000
}

// TestCardDAVVdirsyncer syncs the directory book and a personal book with
// vdirsyncer (Debian's), both ways, and creates a card with khard.
func TestCardDAVVdirsyncer(t *testing.T) {
	for _, tool := range []string{"vdirsyncer", "khard"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install vdirsyncer khard)", tool)
		}
	}
	n := vdirsyncerPeople(t)
	s, root := startCardDAV(t, n, "")
	d := newDAVClient(t, s, "alice", "alice-pw")
	d.do("PROPFIND", d.home, map[string]string{"Depth": "1"}, "", 207) // creates "contacts"
	serverCard := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:from-server\r\nFN:Server Side\r\nEMAIL:server@example.org\r\nEND:VCARD\r\n"
	d.do("PUT", d.home+"contacts/from-server.vcf", map[string]string{"Content-Type": "text/vcard"}, serverCard, 201)

	dir := t.TempDir()
	local := map[string]string{"directory": filepath.Join(dir, "directory"), "contacts": filepath.Join(dir, "contacts")}
	for _, p := range local {
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	base := "http://" + s.HTTP + d.home
	cfg := fmt.Sprintf(`[general]
status_path = "%s/status/"

[pair directory]
a = "directory_local"
b = "directory_remote"
collections = null
conflict_resolution = "b wins"

[storage directory_local]
type = "filesystem"
path = "%s/"
fileext = ".vcf"

[storage directory_remote]
type = "carddav"
url = "%sdirectory/"
username = "alice"
password = "alice-pw"
read_only = true

[pair contacts]
a = "contacts_local"
b = "contacts_remote"
collections = null

[storage contacts_local]
type = "filesystem"
path = "%s/"
fileext = ".vcf"

[storage contacts_remote]
type = "carddav"
url = "%scontacts/"
username = "alice"
password = "alice-pw"
`, dir, local["directory"], base, local["contacts"], base)
	cfgFile := filepath.Join(dir, "vdirsyncer.conf")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Stdin = nil
		cmd.Env = append(os.Environ(), "HOME="+dir, "LC_ALL=C.UTF-8")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s\nserver log:\n%s", name, strings.Join(args, " "), err, out, s.Log())
		}
		return string(out)
	}
	vdir := func(args ...string) string { return run("vdirsyncer", append([]string{"-c", cfgFile}, args...)...) }
	vdir("discover")
	start := time.Now()
	vdir("sync")
	t.Logf("initial sync of %d people: %v", n+2, time.Since(start))
	files := func(p string) []string {
		t.Helper()
		m, err := filepath.Glob(filepath.Join(p, "*.vcf"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if got := len(files(local["directory"])); got != n+2 {
		t.Fatalf("directory book: %d cards synced, want %d", got, n+2)
	}
	if got := files(local["contacts"]); len(got) != 1 {
		t.Fatalf("personal book: %v synced, want the server's one card", got)
	}
	bobUUID := entryUUID(t, root, "uid=bob,ou=people,"+testSuffix)
	bobFile := filepath.Join(local["directory"], bobUUID+".vcf")
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if !strings.Contains(read(bobFile), "FN:Bob Builder") {
		t.Fatalf("bob's card:\n%s", read(bobFile))
	}

	// An LDAP modify appears after the next sync.
	m := goldap.NewModifyRequest("uid=bob,ou=people,"+testSuffix, nil)
	m.Replace("title", []string{"Site Manager"})
	if err := root.Modify(m); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	vdir("sync")
	t.Logf("sync after one change: %v", time.Since(start))
	if !strings.Contains(read(bobFile), "TITLE:Site Manager") {
		t.Errorf("bob's card after the modify:\n%s", read(bobFile))
	}

	// A card created with khard appears in the directory, below alice's
	// entry.
	kcfg := filepath.Join(dir, "khard.conf")
	if err := os.WriteFile(kcfg, []byte("[addressbooks]\n[[contacts]]\npath = "+local["contacts"]+"/\n"+
		"[general]\ndefault_action = list\neditor = /bin/true\nmerge_editor = /bin/true\n[vcard]\npreferred_version = 3.0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tmpl := filepath.Join(dir, "new.yaml")
	if err := os.WriteFile(tmpl, []byte("First name : Kai\nLast name : Khard\nEmail :\n    work : kai@example.net\nPhone :\n    cell : +49 30 1234567\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run("khard", "-c", kcfg, "new", "-a", "contacts", "-i", tmpl)
	vdir("sync")
	res, err := root.Search(goldap.NewSearchRequest("switchboardName=contacts,uid=alice,ou=people,"+testSuffix,
		goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=switchboardCard)",
		[]string{"switchboardVCard"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, en := range res.Entries {
		if v := en.GetAttributeValue("switchboardVCard"); strings.Contains(v, "Kai Khard") && strings.Contains(v, "kai@example.net") {
			found = true
		}
	}
	if !found || len(res.Entries) != 2 {
		t.Errorf("after khard new and a sync, alice's book holds %d cards, Kai's found: %v", len(res.Entries), found)
	}
	// And khard lists both cards of the personal book.
	if out := run("khard", "-c", kcfg, "list"); !strings.Contains(out, "Kai Khard") || !strings.Contains(out, "Server Side") {
		t.Errorf("khard list:\n%s", out)
	}
	// A local deletion reaches the server.
	for _, f := range files(local["contacts"]) {
		if strings.Contains(read(f), "Server Side") {
			os.Remove(f)
		}
	}
	vdir("sync")
	d.do("GET", d.home+"contacts/from-server.vcf", nil, "", 404)
}
