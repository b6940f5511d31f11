package replication

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/replication/changelog"
	"github.com/switchboard-ldap/switchboard/schema"
)

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *lockedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *lockedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestTrimWaitsForSpace: on a real filesystem filled past the store's
// reserve, the changelog trim (whose deletes are writes) is refused by the
// free-space guard like a client write: Trim returns an error wrapping
// directory.ErrDiskFull and removes nothing, the trimmer logs that it is
// put off, and once space is freed the trimmer runs again by itself.
func TestTrimWaitsForSpace(t *testing.T) {
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=400m"); err != nil {
		t.Skipf("cannot mount a size-limited tmpfs (needs root or CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	s, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	l, err := New(Config{Replica: 1, MaxAge: time.Hour, MaxEntries: 5, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	const reserve = 32 << 20
	eng, err := directory.Open(directory.Options{Dir: filepath.Join(mnt, "store"), NoSync: true, Suffix: "dc=example,dc=com",
		Schema: s, Hooks: []directory.WriteHook{l}, Stamper: l, DiskReserve: reserve, ValueLogGCInterval: -1, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	if err := l.Open(eng); err != nil {
		t.Fatal(err)
	}
	add(t, eng, "dc=example,dc=com", "objectClass", "domain", "dc", "example")
	for i := range 20 {
		add(t, eng, fmt.Sprintf("cn=p%d,dc=example,dc=com", i), "objectClass", "person", "cn", fmt.Sprint("p", i), "sn", "x")
	}
	count := func() int {
		n := 0
		eng.View(func(v *directory.View) error {
			return v.Records(changelog.KeyRecords, nil, false, func(_, _ []byte) (bool, error) { n++; return true, nil })
		})
		return n
	}
	before := count()

	// Fill the filesystem to 8 MiB below the reserve.
	room := eng.DiskSpace().Headroom
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, make([]byte, room-reserve+8<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the guard measures again after a second
	n, err := l.Trim(context.Background())
	if !errors.Is(err, directory.ErrDiskFull) || n != 0 {
		t.Fatalf("Trim on a full disk: removed %d, %v", n, err)
	}
	if got := count(); got != before {
		t.Fatalf("%d records after a refused trim, want %d", got, before)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.RunTrimmer(ctx, 50*time.Millisecond) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "changelog trim put off: the store's disk is full") {
		if time.Now().After(deadline) {
			t.Fatalf("no log line for the put-off trim:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := count(); got != before {
		t.Fatalf("%d records trimmed on a full disk", before-got)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for count() > 5 {
		if time.Now().After(deadline) {
			t.Fatalf("%d records: the trim did not run again once space was freed:\n%s", count(), logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "changelog trim runs again") {
		t.Errorf("no log line for the resumed trim:\n%s", logs.String())
	}
}
