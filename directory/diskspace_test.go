package directory

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// TestDiskFullErrorsMapToUnwilling: ENOSPC (or EDQUOT) from a Badger
// commit is an LDAP result, not an "other" error or a crash.
func TestDiskFullErrorsMapToUnwilling(t *testing.T) {
	for _, cause := range []error{syscall.ENOSPC, syscall.EDQUOT} {
		err := mapTxnError(fmt.Errorf("while writing to the value log: %w", cause))
		if code(err) != ldap.UnwillingToPerform || !strings.Contains(err.Error(), "disk is full") {
			t.Errorf("%v: got %v", cause, err)
		}
	}
}

// TestSpaceGuardRefusesAndRecovers drives the guard with an injected
// probe: below the reserve a write is refused with unwillingToPerform
// and changes nothing, reads go on, and once space is back the next write
// is admitted without reopening anything.
func TestSpaceGuardRefusesAndRecovers(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	var avail atomic.Int64
	avail.Store(1 << 30)
	clock := time.Unix(1e9, 0)
	g := newSpaceGuard("store", 64<<20, func(string) (int64, int64, error) { return avail.Load(), 16 << 20, nil }, e.log)
	g.now = func() time.Time { return clock }
	e.space = g

	dn := "uid=alice,ou=people,dc=example,dc=com"
	must(t, errOf(e.Add(ctx, dn, attrs("objectClass", "inetOrgPerson", "uid", "alice", "cn", "Alice", "sn", "A"), WriteOptions{})))

	// The holes (16 MiB) count against the free space: 70 MiB free is
	// 54 MiB of headroom, below the 64 MiB reserve.
	avail.Store(70 << 20)
	clock = clock.Add(probeEvery)
	_, err := e.Modify(ctx, dn, []Mod{{Op: change.ModReplace, Attr: Attr{Name: "description", Values: [][]byte{[]byte("x")}}}}, WriteOptions{})
	if code(err) != ldap.UnwillingToPerform || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("write on a full disk: %v", err)
	}
	if st := e.DiskSpace(); !st.Full || st.Refused != 1 || st.Headroom != 54<<20 {
		t.Fatalf("DiskSpace = %+v", st)
	}
	if _, err := e.Add(ctx, "uid=bob,ou=people,dc=example,dc=com", attrs("objectClass", "inetOrgPerson", "uid", "bob", "cn", "Bob", "sn", "B"), WriteOptions{}); code(err) != ldap.UnwillingToPerform {
		t.Fatalf("add on a full disk: %v", err)
	}
	en, err := e.Get(ctx, dn)
	if err != nil || en == nil || findAttr(en, "description") != nil {
		t.Fatalf("read on a full disk: %v %v", en, err)
	}

	avail.Store(1 << 30)
	clock = clock.Add(probeFullEvery)
	must(t, errOf(e.Modify(ctx, dn, []Mod{{Op: change.ModReplace, Attr: Attr{Name: "description", Values: [][]byte{[]byte("x")}}}}, WriteOptions{})))
	if st := e.DiskSpace(); st.Full {
		t.Fatalf("still full after space came back: %+v", st)
	}
}

// mountTmpfs mounts a tmpfs of size bytes on a new directory, or skips.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount a size-limited tmpfs (needs root or CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

func openDiskTest(t *testing.T, dir string, reserve int64) (*Engine, error) {
	s, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	return Open(Options{Dir: dir, Suffix: "dc=example,dc=com", Schema: s, DiskReserve: reserve, ValueLogGCInterval: -1})
}

// TestDiskFullOnTmpfs fills a real, size-limited filesystem through
// writes of 1 MiB photos: the engine refuses writes with
// unwillingToPerform before Badger faults (SIGBUS would end the test
// binary), reads go on, writes resume once a file elsewhere on the
// filesystem is removed, and every acknowledged write is there after a
// close on the full disk and a new start.
func TestDiskFullOnTmpfs(t *testing.T) {
	mnt := mountTmpfs(t, 400<<20)
	dir := filepath.Join(mnt, "store")
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, make([]byte, 48<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := openDiskTest(t, dir, 32<<20)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	must(t, errOf(e.Add(ctx, "dc=example,dc=com", attrs("objectClass", "top", "dcObject", "organization", "dc", "example", "o", "Example"), WriteOptions{})))

	photo := func() []byte {
		b := make([]byte, 1<<20)
		rand.Read(b) // incompressible, and distinct
		return b
	}
	acked := map[string]bool{}
	var refused error
	for i := range 400 {
		dn := fmt.Sprintf("cn=p%d,dc=example,dc=com", i)
		a := attrs("objectClass", "inetOrgPerson", "cn", fmt.Sprintf("p%d", i), "sn", "P")
		a = append(a, Attr{Name: "jpegPhoto", Values: [][]byte{photo()}})
		if _, err := e.Add(ctx, dn, a, WriteOptions{}); err != nil {
			refused = err
			break
		}
		acked[dn] = true
	}
	if code(refused) != ldap.UnwillingToPerform || !strings.Contains(refused.Error(), "disk is full") {
		t.Fatalf("after %d photos: %v", len(acked), refused)
	}
	if !e.DiskSpace().Full {
		t.Fatalf("DiskSpace = %+v", e.DiskSpace())
	}
	t.Logf("refused after %d photos: %v", len(acked), refused)
	for dn := range acked {
		if en, err := e.Get(ctx, dn); err != nil || en == nil {
			t.Fatalf("read %s on a full disk: %v", dn, err)
		}
	}

	// Space comes back: writes resume without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	e.space.measure()
	dn := "cn=after,dc=example,dc=com"
	a := append(attrs("objectClass", "inetOrgPerson", "cn", "after", "sn", "P"), Attr{Name: "jpegPhoto", Values: [][]byte{photo()}})
	if _, err := e.Add(ctx, dn, a, WriteOptions{}); err != nil {
		t.Fatalf("write after freeing space: %v", err)
	}
	acked[dn] = true

	// Fill it again, close on the full disk, start again: nothing
	// acknowledged is lost.
	for i := range 400 {
		dn := fmt.Sprintf("cn=q%d,dc=example,dc=com", i)
		a := append(attrs("objectClass", "inetOrgPerson", "cn", fmt.Sprintf("q%d", i), "sn", "Q"), Attr{Name: "jpegPhoto", Values: [][]byte{photo()}})
		if _, err := e.Add(ctx, dn, a, WriteOptions{}); err != nil {
			if code(err) != ldap.UnwillingToPerform {
				t.Fatal(err)
			}
			break
		}
		acked[dn] = true
	}
	e.Close()
	e, err = openDiskTest(t, dir, 32<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for dn := range acked {
		if en, err := e.Get(ctx, dn); err != nil || en == nil {
			t.Fatalf("%s lost after a restart on the full disk: %v", dn, err)
		}
	}
	if !e.DiskSpace().Full {
		t.Fatalf("restart on the full disk: DiskSpace = %+v", e.DiskSpace())
	}
}

// TestCloseOnAFullDisk: closing flushes the memtable to a new table, a
// write through a memory map that faults on a disk filled (by someone
// else) to the last byte. Close must leave the write-ahead log for the
// next start instead, and say so; and a start on that disk is refused
// with a message.
func TestCloseOnAFullDisk(t *testing.T) {
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=300m"); err != nil {
		t.Skipf("cannot mount a size-limited tmpfs (needs root or CAP_SYS_ADMIN): %v", err)
	}
	// The store stays open (that is the point): detach the mount.
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	e, err := openDiskTest(t, filepath.Join(mnt, "store"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	must(t, errOf(e.Add(ctx, "dc=example,dc=com", attrs("objectClass", "top", "dcObject", "organization", "dc", "example", "o", "Example"), WriteOptions{})))
	f, err := os.Create(filepath.Join(mnt, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	for {
		if _, err := f.Write(chunk[:512]); err != nil {
			break
		}
	}
	f.Close()
	err = e.Close()
	if err == nil || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("Close on a full disk: %v", err)
	}
	// A start on this disk would fault flushing the log it replays: it
	// is refused with a message instead.
	err = checkStartSpace(filepath.Join(mnt, "store"))
	if err == nil || !strings.Contains(err.Error(), "disk is full") || !strings.Contains(err.Error(), "free space") {
		t.Fatalf("start on a full disk: %v", err)
	}
	t.Log(err)
}
