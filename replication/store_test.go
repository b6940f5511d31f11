package replication

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-ldap/switchboard/directory"
)

// TestReplaceSplitsLargeWrites: resolved entries too many for one
// transaction are written in halves rather than failing the resolution
// forever (a 100,000-entry catch-up once did).
func TestReplaceSplitsLargeWrites(t *testing.T) {
	tr := startReplica(t, 1, "")
	tr.mustAdd("dc=example,dc=com", "objectClass", "dcObject", "objectClass", "organization", "dc", "example", "o", "Example")
	base, err := tr.eng.Get(context.Background(), "dc=example,dc=com")
	if err != nil {
		t.Fatal(err)
	}
	filler := strings.Repeat("x", 500)
	var put []*directory.Entry
	for i := range 12000 {
		id, err := tr.eng.NewID()
		if err != nil {
			t.Fatal(err)
		}
		cn := fmt.Sprintf("big%d", i)
		put = append(put, &directory.Entry{ID: id, ParentID: base.ID, DN: "cn=" + cn + ",dc=example,dc=com", Attrs: []directory.Attr{
			{Name: "objectClass", Values: [][]byte{[]byte("person")}},
			{Name: "cn", Values: [][]byte{[]byte(cn)}},
			{Name: "sn", Values: [][]byte{[]byte(cn)}},
			{Name: "description", Values: [][]byte{[]byte(filler + cn)}},
		}})
	}
	if err := tr.eng.ReplaceEntries(context.Background(), put, nil); err != directory.ErrTxnTooBig {
		t.Fatalf("the test's write fits in one transaction (%v): make it bigger", err)
	}
	before := tr.eng.EntryCount()
	commits, committed := 0, 0
	if err := tr.rep.replace(context.Background(), put, nil, func(n, _ int) { commits++; committed += n }); err != nil {
		t.Fatal(err)
	}
	if got := tr.eng.EntryCount() - before; got != int64(len(put)) {
		t.Fatalf("%d entries written, want %d", got, len(put))
	}
	if commits < 2 || committed != len(put) {
		t.Fatalf("%d transactions reported committing %d entries, want at least 2 for all %d", commits, committed, len(put))
	}
}
