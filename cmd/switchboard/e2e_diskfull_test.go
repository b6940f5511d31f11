package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"golang.org/x/sys/unix"
)

// mountTmpfs mounts a tmpfs of size MiB on a new directory, or skips the
// test. It is unmounted when the test ends, after the server stops.
func mountTmpfs(t *testing.T, mib int) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%dm", mib)); err != nil {
		t.Skipf("cannot mount a size-limited tmpfs (needs root or CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// TestDiskFullE2E: an ordinary user fills a small filesystem with
// jpegPhoto replacements. The server does not die (SIGBUS before the
// guard): writes answer unwillingToPerform (53) saying the disk is full,
// searches and binds go on, /metrics says so; after kill -9 during the
// full phase the server starts again on the still-full disk, serves reads
// and has every acknowledged write; after another kill -9 and a start on
// the filesystem filled to the last byte, the store is served read-only
// with the same answers; once files elsewhere on the filesystem are
// removed, writes succeed again without a restart.
func TestDiskFullE2E(t *testing.T) {
	mnt := mountTmpfs(t, 512)
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, make([]byte, 150<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(`access:
  rules:
    - to attrs=userPassword by self write by anonymous auth by * none
    - to attrs=jpegPhoto,description by self write by * read
    - to * by * read
limits:
  disk_reserve_mb: 64
`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, filepath.Join(mnt, "data"), "--config", cfg)
	const user = "uid=mallory,dc=example,dc=com"
	if out, code := s.ldapTool(t, `dn: dc=example,dc=com
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: `+user+`
objectClass: inetOrgPerson
uid: mallory
cn: Mallory
sn: M
userPassword: mallorypw
`, "ldapadd"); code != 0 {
		t.Fatalf("ldapadd: %s", out)
	}

	dial := func(dn, pw string) *goldap.Conn {
		t.Helper()
		c, err := goldap.DialURL(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if dn != "" {
			if err := c.Bind(dn, pw); err != nil {
				t.Fatalf("bind %s: %v", dn, err)
			}
		}
		return c
	}
	// write replaces the photo and records n in description: the last
	// acknowledged n must survive a kill -9.
	photo := make([]byte, 500<<10)
	write := func(c *goldap.Conn, n int) error {
		rand.Read(photo)
		m := goldap.NewModifyRequest(user, nil)
		m.Replace("jpegPhoto", []string{string(photo)})
		m.Replace("description", []string{strconv.Itoa(n)})
		return c.Modify(m)
	}
	description := func() string {
		t.Helper()
		res, err := dial("", "").Search(goldap.NewSearchRequest(user, goldap.ScopeBaseObject, goldap.NeverDerefAliases,
			0, 0, false, "(objectClass=*)", []string{"description"}, nil))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("anonymous read: %v", err)
		}
		return res.Entries[0].GetAttributeValue("description")
	}

	c := dial(user, "mallorypw")
	acked := -1
	var refused error
	for n := range 1000 {
		if err := write(c, n); err != nil {
			refused = err
			break
		}
		acked = n
	}
	var le *goldap.Error
	if !errors.As(refused, &le) || le.ResultCode != goldap.LDAPResultUnwillingToPerform || !strings.Contains(le.Err.Error(), "disk is full") {
		t.Fatalf("after %d photos: %v\nlog:\n%s", acked+1, refused, s.Log())
	}
	t.Logf("refused after %d photos: %v", acked+1, refused)
	if acked < 10 {
		t.Fatalf("refused after only %d writes", acked+1)
	}

	// Reads, binds (ordinary and root) and the admin API go on.
	fullPhase := func() {
		t.Helper()
		if got := description(); got != strconv.Itoa(acked) {
			t.Fatalf("description = %q, want the last acknowledged %d", got, acked)
		}
		dial(user, "mallorypw")
		rc := dial(testRootDN, testRootPass)
		if err := write(rc, acked+1); !errors.As(err, &le) || le.ResultCode != goldap.LDAPResultUnwillingToPerform {
			t.Fatalf("root write on the full disk: %v", err)
		}
		if v := metric(t, s, "switchboard_disk_full"); v != 1 {
			t.Fatalf("switchboard_disk_full = %v", v)
		}
		if metric(t, s, "switchboard_disk_full_refused_writes_total") < 1 {
			t.Fatal("no refused write counted")
		}
		resp, err := http.Get("http://" + s.Admin + "/healthz")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("/healthz: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	fullPhase()
	if !strings.Contains(s.Log(), "disk is full") {
		t.Fatalf("nothing logged about the full disk:\n%s", s.Log())
	}

	// kill -9 while full, start again on the still-full disk.
	s.Restart()
	if !strings.Contains(s.Log(), "the store's disk is full at start") {
		t.Errorf("the start on a full disk was not logged:\n%s", s.Log())
	}
	fullPhase()

	// kill -9 again and fill the filesystem to the last byte: the store
	// cannot even be opened for writing (Badger would fault flushing the
	// log it replays). It is served read-only.
	s.Kill()
	last := filepath.Join(mnt, "last")
	fillFile(t, last)
	s.start()
	if !strings.Contains(s.Log(), "opening the store read-only") {
		t.Errorf("the read-only start was not logged:\n%s", s.Log())
	}
	fullPhase()

	// Space comes back: writes succeed again, without a restart (the
	// store is reopened for writing first).
	for _, f := range []string{last, filler} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	c = dial(user, "mallorypw")
	deadline := time.Now().Add(time.Minute)
	for {
		err := write(c, acked+1)
		if err == nil {
			break
		}
		if !errors.As(err, &le) || le.ResultCode != goldap.LDAPResultUnwillingToPerform || time.Now().After(deadline) {
			t.Fatalf("write after freeing space: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // the guard measures again 100 ms after a refusal
	}
	if got := description(); got != strconv.Itoa(acked+1) {
		t.Fatalf("description = %q after recovery", got)
	}
	if v := metric(t, s, "switchboard_disk_full"); v != 0 {
		t.Fatalf("switchboard_disk_full = %v after recovery", v)
	}
}

// fillFile writes path until its filesystem has not a block left.
func fillFile(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for n := len(chunk); n >= 512; n /= 2 {
		for {
			if _, err := f.Write(chunk[:n]); err != nil {
				break
			}
		}
	}
}

// TestWriteLimitsE2E: with the default limits an ordinary user cannot
// store a multi-MiB jpegPhoto on their own entry (adminLimitExceeded,
// 11); a 400 KiB one is stored; the root DN is exempt. /metrics reports
// the value log and its GC.
func TestWriteLimitsE2E(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(`access:
  rules:
    - to attrs=userPassword by self write by anonymous auth by * none
    - to attrs=jpegPhoto by self write by * read
    - to * by * read
`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "", "--config", cfg)
	const user = "uid=mallory,dc=example,dc=com"
	if out, code := s.ldapTool(t, `dn: dc=example,dc=com
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: `+user+`
objectClass: inetOrgPerson
uid: mallory
cn: Mallory
sn: M
userPassword: mallorypw
`, "ldapadd"); code != 0 {
		t.Fatalf("ldapadd: %s", out)
	}
	photo := func(dn, pw string, size int) error {
		c, err := goldap.DialURL(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Bind(dn, pw); err != nil {
			t.Fatal(err)
		}
		m := goldap.NewModifyRequest(user, nil)
		m.Replace("jpegPhoto", []string{strings.Repeat("\xff", size)})
		return c.Modify(m)
	}
	err := photo(user, "mallorypw", 3<<20)
	var le *goldap.Error
	if !errors.As(err, &le) || le.ResultCode != goldap.LDAPResultAdminLimitExceeded || !strings.Contains(le.Err.Error(), "jpegPhoto") {
		t.Fatalf("3 MiB jpegPhoto by a user: %v", err)
	}
	if err := photo(user, "mallorypw", 400<<10); err != nil {
		t.Fatalf("400 KiB jpegPhoto: %v", err)
	}
	if err := photo(testRootDN, testRootPass, 3<<20); err != nil {
		t.Fatalf("root DN: %v", err)
	}
	for _, name := range []string{"switchboard_value_log_gc_runs_total", "switchboard_value_log_reclaimable_bytes",
		"switchboard_disk_full", "switchboard_disk_headroom_bytes"} {
		metric(t, s, name)
	}
	if v := metric(t, s, "switchboard_disk_reserve_bytes"); v != 256<<20 {
		t.Errorf("switchboard_disk_reserve_bytes = %v", v)
	}
}
