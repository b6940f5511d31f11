package directory

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
// The mount is detached at the end, so a test may leave a store open on it.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount a size-limited tmpfs (needs root or CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
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
// next start instead, and say so; and checkStartSpace finds that the
// disk cannot take a writable open.
func TestCloseOnAFullDisk(t *testing.T) {
	mnt := mountTmpfs(t, 300<<20)
	e, err := openDiskTest(t, filepath.Join(mnt, "store"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	must(t, errOf(e.Add(ctx, "dc=example,dc=com", attrs("objectClass", "top", "dcObject", "organization", "dc", "example", "o", "Example"), WriteOptions{})))
	fillToTheLastByte(t, mnt)
	err = e.Close()
	if err == nil || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("Close on a full disk: %v", err)
	}
	// Opening for writing on this disk would fault flushing the log it
	// replays: checkStartSpace says so (Open then opens the store
	// read-only, TestReadOnlyStartOnAFullDisk).
	err = checkStartSpace(filepath.Join(mnt, "store"))
	if err == nil || !strings.Contains(err.Error(), "disk is full") || !strings.Contains(err.Error(), "free space") {
		t.Fatalf("start on a full disk: %v", err)
	}
	t.Log(err)
}

// syncBuffer is a log sink safe for the engine's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestIndexBuildWaitsForSpace: an index added to a store whose disk is
// full is not built (the build's writes would bypass the guard that
// client writes get): it pauses with a log line, the new index stays
// unused, and the build finishes by itself once space is back.
func TestIndexBuildWaitsForSpace(t *testing.T) {
	dir := t.TempDir()
	s, err := schema.Default()
	must(t, err)
	ctx := context.Background()
	e, err := Open(Options{Dir: dir, NoSync: true, Suffix: "dc=example,dc=com", Schema: s,
		Indexes: map[string][]string{"objectClass": {"eq"}}, ValueLogGCInterval: -1})
	must(t, err)
	must(t, errOf(e.Add(ctx, "dc=example,dc=com", attrs("objectClass", "dcObject", "organization", "dc", "example", "o", "E"), WriteOptions{})))
	for i := range 120 {
		must(t, errOf(e.Add(ctx, fmt.Sprintf("cn=p%d,dc=example,dc=com", i), attrs("objectClass", "person", "cn", fmt.Sprintf("p%d", i), "sn", "P"), WriteOptions{})))
	}
	must(t, e.Close())

	var avail atomic.Int64
	avail.Store(10 << 20) // below the 64 MiB reserve
	var logs syncBuffer
	e, err = Open(Options{Dir: dir, NoSync: true, Suffix: "dc=example,dc=com", Schema: s, DiskReserve: 64 << 20,
		Indexes: map[string][]string{"objectClass": {"eq"}, "cn": {"eq"}}, ValueLogGCInterval: -1,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		probe:  func(string) (int64, int64, error) { return avail.Load(), 0, nil }})
	must(t, err)
	defer e.Close()
	wait, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
	defer cancel()
	if err := e.WaitIndexes(wait); err == nil {
		t.Fatal("the index build ran on a full disk")
	}
	if done, _ := e.IndexBuild(); done != 0 {
		t.Fatalf("%d entries indexed on a full disk", done)
	}
	if running, err := e.IndexBuildState(); !running || err != nil {
		t.Fatalf("IndexBuildState of the paused build = %v, %v; want running", running, err)
	}
	if e.ready(mustAttr(s, "cn")) != nil {
		t.Fatal("cn index in use before it was built")
	}
	if !strings.Contains(logs.String(), "index build paused: the store's disk is full") {
		t.Fatalf("no log line for the paused build:\n%s", logs.String())
	}

	avail.Store(1 << 30)
	wait, cancel = context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	must(t, e.WaitIndexes(wait))
	if done, total := e.IndexBuild(); done != 121 || total != 121 {
		t.Fatalf("IndexBuild = %d/%d after space came back", done, total)
	}
	if running, err := e.IndexBuildState(); running || err != nil {
		t.Fatalf("IndexBuildState after the build = %v, %v; want done", running, err)
	}
	if e.ready(mustAttr(s, "cn")) == nil {
		t.Fatal("cn index not ready after the build")
	}
	if !strings.Contains(logs.String(), "index build resumed") {
		t.Fatalf("no log line for the resumed build:\n%s", logs.String())
	}
}

// TestSideRecordsRespectTheGuard: side-record writes (the changelog, its
// trims, replication state) are refused on a full disk like entry writes,
// with an error that wraps ErrDiskFull, and nothing is written.
func TestSideRecordsRespectTheGuard(t *testing.T) {
	var avail atomic.Int64
	avail.Store(1 << 30)
	e, err := Open(Options{Dir: t.TempDir(), NoSync: true, Suffix: "dc=example,dc=com", Schema: mustSchema(t),
		DiskReserve: 64 << 20, ValueLogGCInterval: -1,
		probe: func(string) (int64, int64, error) { return avail.Load(), 0, nil }})
	must(t, err)
	defer e.Close()
	ctx := context.Background()
	key := []byte{PrefixReplication, 'k'}
	put := func(v string) error {
		return e.UpdateRecords(ctx, func(tx *Tx) error { return tx.PutRecord(key, []byte(v)) })
	}
	must(t, put("a"))
	avail.Store(10 << 20)
	e.space.measure()
	if err := put("b"); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("side record on a full disk: %v", err)
	}
	if err := e.UpdateRecords(ctx, func(tx *Tx) error { return tx.DeleteRecord(key) }); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("side record delete on a full disk: %v", err)
	}
	var got []byte
	must(t, e.View(func(v *View) (err error) { got, err = v.Record(key); return err }))
	if string(got) != "a" {
		t.Fatalf("record = %q, want the one written before the disk filled", got)
	}
	avail.Store(1 << 30)
	e.space.measure()
	must(t, put("c"))
}

func mustSchema(t testing.TB) *schema.Schema {
	t.Helper()
	s, err := schema.Default()
	must(t, err)
	return s
}

// fillToTheLastByte fills the filesystem holding dir with a file named
// filler, to the last block, and returns its path.
func fillToTheLastByte(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
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
	return path
}

// TestReadOnlyStartOnAFullDisk: a store whose disk is full to the last
// byte (its write-ahead log left unflushed, as after kill -9 or a close on
// that disk) opens read-only instead of being refused: every acknowledged
// entry is served, writes (entries and side records) are refused with the
// disk-full answer; once space is freed the engine reopens the store for
// writing by itself, writes succeed, and a later start finds everything.
func TestReadOnlyStartOnAFullDisk(t *testing.T) {
	mnt := mountTmpfs(t, 300<<20)
	dir := filepath.Join(mnt, "store")
	var logs syncBuffer
	open := func() (*Engine, error) {
		return Open(Options{Dir: dir, Suffix: "dc=example,dc=com", Schema: mustSchema(t), DiskReserve: 1 << 20,
			ValueLogGCInterval: -1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	}
	// A child process writes the entries, fills the disk to the last
	// byte and dies without closing (kill -9): its write-ahead log is
	// left at full size for the next start to replay.
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriteAndDie$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SWITCHBOARD_HELPER_STORE="+dir)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "acknowledged") {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	var dns []string
	for i := range 20 {
		dns = append(dns, fmt.Sprintf("cn=p%d,dc=example,dc=com", i))
	}
	filler := filepath.Join(mnt, "filler")
	ctx := context.Background()

	e, err := open()
	if err != nil {
		t.Fatalf("start on a full disk: %v", err)
	}
	defer func() { e.Close() }()
	if !e.ReadOnly() || !e.DiskSpace().Full {
		t.Fatalf("ReadOnly = %v, DiskSpace = %+v", e.ReadOnly(), e.DiskSpace())
	}
	if !strings.Contains(logs.String(), "opening the store read-only") {
		t.Errorf("the read-only start was not logged:\n%s", logs.String())
	}
	for _, dn := range dns {
		if en, err := e.Get(ctx, dn); err != nil || en == nil {
			t.Fatalf("read %s on a full disk: %v", dn, err)
		}
	}
	if _, err := e.Modify(ctx, dns[0], []Mod{{Op: change.ModReplace, Attr: Attr{Name: "sn", Values: [][]byte{[]byte("Q")}}}}, WriteOptions{}); code(err) != ldap.UnwillingToPerform || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("write on the read-only store: %v", err)
	}
	if err := e.UpdateRecords(ctx, func(tx *Tx) error { return tx.PutRecord([]byte{PrefixReplication, 'k'}, []byte("v")) }); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("side record on the read-only store: %v", err)
	}

	// Space comes back: the store is reopened for writing without a
	// restart (the upkeep looks every few seconds).
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for e.ReadOnly() {
		if time.Now().After(deadline) {
			t.Fatalf("still read-only after space came back:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, err := e.Modify(ctx, dns[0], []Mod{{Op: change.ModReplace, Attr: Attr{Name: "sn", Values: [][]byte{[]byte("Q")}}}}, WriteOptions{})
		if err == nil {
			break
		}
		if code(err) != ldap.UnwillingToPerform || time.Now().After(deadline) {
			t.Fatalf("write after the store was reopened: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	must(t, errOf(e.Add(ctx, "cn=after,dc=example,dc=com", attrs("objectClass", "person", "cn", "after", "sn", "A"), WriteOptions{})))
	dns = append(dns, "cn=after,dc=example,dc=com")
	must(t, e.Close())

	e, err = open()
	must(t, err)
	if e.ReadOnly() {
		t.Fatal("read-only after a start with room")
	}
	for _, dn := range dns {
		if en, err := e.Get(ctx, dn); err != nil || en == nil {
			t.Fatalf("%s lost: %v", dn, err)
		}
	}
	if en, _ := e.Get(ctx, dns[0]); string(findAttr(en, "sn").Values[0]) != "Q" {
		t.Fatalf("the write after reopening was lost: %+v", en)
	}
}

// TestHelperWriteAndDie is TestReadOnlyStartOnAFullDisk's child process:
// it adds entries to the store in $SWITCHBOARD_HELPER_STORE, fills its
// filesystem to the last byte and exits without closing the store.
func TestHelperWriteAndDie(t *testing.T) {
	dir := os.Getenv("SWITCHBOARD_HELPER_STORE")
	if dir == "" {
		t.Skip("a helper process of TestReadOnlyStartOnAFullDisk")
	}
	e, err := Open(Options{Dir: dir, Suffix: "dc=example,dc=com", Schema: mustSchema(t), DiskReserve: 1 << 20, ValueLogGCInterval: -1})
	must(t, err)
	ctx := context.Background()
	must(t, errOf(e.Add(ctx, "dc=example,dc=com", attrs("objectClass", "top", "dcObject", "organization", "dc", "example", "o", "Example"), WriteOptions{})))
	for i := range 20 {
		a := attrs("objectClass", "inetOrgPerson", "cn", fmt.Sprintf("p%d", i), "sn", "P")
		if i%4 == 0 {
			photo := make([]byte, 64<<10) // in the value log
			rand.Read(photo)
			a = append(a, Attr{Name: "jpegPhoto", Values: [][]byte{photo}})
		}
		must(t, errOf(e.Add(ctx, fmt.Sprintf("cn=p%d,dc=example,dc=com", i), a, WriteOptions{})))
	}
	fillToTheLastByte(t, filepath.Dir(dir))
	fmt.Println("acknowledged")
	os.Exit(3)
}

// TestReplicaWritesRespectTheGuard: ReplaceEntriesWith, through which RFC
// 4533 consumers (federation imports) store what they receive, is
// refused on a full disk with an error wrapping ErrDiskFull, entries and
// side record (the consumer's cookie) alike, and nothing is written; the
// same write succeeds once space is freed.
func TestReplicaWritesRespectTheGuard(t *testing.T) {
	var avail atomic.Int64
	avail.Store(1 << 30)
	e, err := Open(Options{Dir: t.TempDir(), NoSync: true, Suffix: "dc=example,dc=com", Schema: mustSchema(t),
		DiskReserve: 64 << 20, ValueLogGCInterval: -1,
		probe: func(string) (int64, int64, error) { return avail.Load(), 0, nil }})
	must(t, err)
	defer e.Close()
	ctx := context.Background()
	must(t, errOf(e.Add(ctx, "dc=example,dc=com", attrs("objectClass", "top", "dcObject", "organization", "dc", "example", "o", "Example"), WriteOptions{})))
	a, err := e.Add(ctx, "uid=a,dc=example,dc=com", person("a", "A", "A"), WriteOptions{})
	must(t, err)
	changed := a.After.Clone()
	changed.Attrs = append(changed.Attrs, Attr{Name: "description", Values: [][]byte{[]byte("from the provider")}})
	key := []byte{PrefixReplication, 'c'}
	cookie := func(tx *Tx) error { return tx.PutRecord(key, []byte("cookie")) }

	avail.Store(10 << 20)
	e.space.measure()
	if err := e.ReplaceEntriesWith(ctx, []*Entry{changed.Clone()}, nil, nil, cookie); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("replica write on a full disk: %v", err)
	}
	got, err := e.Entry("uid=a,dc=example,dc=com")
	must(t, err)
	if got.First("description") != "" {
		t.Fatal("the refused replica write changed the entry")
	}
	var rec []byte
	must(t, e.View(func(v *View) (err error) { rec, err = v.Record(key); return err }))
	if rec != nil {
		t.Fatalf("the refused replica write stored its record: %q", rec)
	}

	avail.Store(1 << 30)
	e.space.measure()
	must(t, e.ReplaceEntriesWith(ctx, []*Entry{changed.Clone()}, nil, nil, cookie))
	got, err = e.Entry("uid=a,dc=example,dc=com")
	must(t, err)
	if got.First("description") != "from the provider" {
		t.Fatalf("description after space was freed: %q", got.First("description"))
	}
}
