package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
)

// recordingLog is a ChangeLog that remembers what it was told.
type recordingLog struct {
	n        int
	logged   []*Change
	settled  map[change.CSN]bool // CSN -> committed
	failHook bool
}

func (l *recordingLog) Stamp() change.CSN {
	l.n++
	return change.CSN{Time: int64(l.n), Replica: 1}
}
func (l *recordingLog) Settle(csn change.CSN, ch *Change) {
	l.settled[csn] = ch != nil
}
func (l *recordingLog) Name() string { return "recording" }
func (l *recordingLog) OnChange(_ context.Context, _ *Tx, ch *Change) error {
	if l.failHook {
		return errors.New("refused")
	}
	l.logged = append(l.logged, ch)
	return nil
}

func TestReplaceEntriesLogged(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	a, err := e.Add(ctx, "uid=a,ou=people,dc=example,dc=com", person("a", "A", "A"), WriteOptions{})
	must(t, err)
	b, err := e.Add(ctx, "uid=b,ou=people,dc=example,dc=com", person("b", "B", "B"), WriteOptions{})
	must(t, err)
	c, err := e.Add(ctx, "uid=c,ou=people,dc=example,dc=com", person("c", "C", "C"), WriteOptions{})
	must(t, err)
	newID, err := e.NewID()
	must(t, err)

	changedA := a.After.Clone()
	changedA.Attrs = append(changedA.Attrs, Attr{Name: "description", Values: [][]byte{[]byte("x")}})
	movedB := b.After.Clone()
	movedB.DN = "uid=b2,ou=people,dc=example,dc=com"
	fresh := &Entry{ID: newID, ParentID: a.After.ParentID, DN: "uid=d,ou=people,dc=example,dc=com", Attrs: person("d", "D", "D")}

	log := &recordingLog{settled: map[change.CSN]bool{}}
	must(t, e.ReplaceEntriesLogged(ctx, []*Entry{changedA, movedB, fresh}, []ID{c.After.ID}, log))
	kinds := map[string]change.Kind{}
	for _, ch := range log.logged {
		en := ch.After
		if en == nil {
			en = ch.Before
		}
		kinds[en.First("uid")] = ch.Kind
		if ch.CSN.IsZero() || !log.settled[ch.CSN] {
			t.Errorf("change of %s: CSN %v not settled as committed", en.DN, ch.CSN)
		}
	}
	want := map[string]change.Kind{"a": change.Modify, "b": change.ModRDN, "c": change.Delete, "d": change.Add}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Fatalf("logged %v, want %v", kinds, want)
	}

	// A log that refuses aborts the whole transaction and settles its
	// stamps as not committed.
	refusing := &recordingLog{settled: map[change.CSN]bool{}, failHook: true}
	again := changedA.Clone()
	again.Attrs = append(again.Attrs, Attr{Name: "title", Values: [][]byte{[]byte("t")}})
	if err := e.ReplaceEntriesLogged(ctx, []*Entry{again}, nil, refusing); err == nil {
		t.Fatal("a refusing log did not fail the replacement")
	}
	if len(refusing.settled) != 1 || refusing.settled[change.CSN{Time: 1, Replica: 1}] {
		t.Fatalf("refused replacement settled %v, want csn1 not committed", refusing.settled)
	}
	got, err := e.Get(ctx, "uid=a,ou=people,dc=example,dc=com")
	must(t, err)
	if got.Get("title") != nil {
		t.Fatal("the refused replacement was written")
	}
}

// TestReplaceEntriesTooBig: a replacement larger than one transaction
// is refused whole with ErrTxnTooBig (callers split it), and writes
// nothing.
func TestReplaceEntriesTooBig(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	people, err := e.Get(ctx, "ou=people,dc=example,dc=com")
	must(t, err)
	filler := strings.Repeat("x", 600)
	var put []*Entry
	for i := range 20000 {
		id, err := e.NewID()
		must(t, err)
		uid := fmt.Sprintf("bulk%d", i)
		put = append(put, &Entry{ID: id, ParentID: people.ID, DN: "uid=" + uid + ",ou=people,dc=example,dc=com",
			Attrs: person(uid, "Bulk "+uid, uid, "description", filler+uid)})
	}
	before := e.EntryCount()
	if err := e.ReplaceEntries(ctx, put, nil); !errors.Is(err, ErrTxnTooBig) {
		t.Fatalf("ReplaceEntries of %d large entries: %v, want ErrTxnTooBig", len(put), err)
	}
	if e.EntryCount() != before {
		t.Fatalf("%d entries after a refused replacement, %d before", e.EntryCount(), before)
	}
	if err := e.ReplaceEntries(ctx, put[:100], nil); err != nil {
		t.Fatalf("a smaller part: %v", err)
	}
}

// TestReplaceEntriesInPlace: an entry replaced under the same DN and
// parent has only the index keys its change adds or removes written: the
// keys it keeps are not rewritten (their Badger version stays), those of
// a changed indexed value are swapped.
func TestReplaceEntriesInPlace(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	a, err := e.Add(ctx, "uid=a,ou=people,dc=example,dc=com", person("a", "Alice", "Smith"), WriteOptions{})
	must(t, err)
	versions := func(en *Entry) map[string]uint64 {
		out := map[string]uint64{}
		txn := e.db().NewTransaction(false)
		defer txn.Discard()
		for k := range e.indexKeys(e.indexes, en) {
			item, err := txn.Get([]byte(k))
			if err != nil {
				t.Fatalf("index key %q of %s: %v", k, en.DN, err)
			}
			out[k] = item.Version()
		}
		return out
	}
	before := versions(a.After)

	changed := a.After.Clone()
	for i := range changed.Attrs {
		if changed.Attrs[i].Name == "sn" {
			changed.Attrs[i].Values = [][]byte{[]byte("Jones")}
		}
	}
	changed.Attrs = append(changed.Attrs, Attr{Name: "description", Values: [][]byte{[]byte("x")}})
	must(t, e.ReplaceEntries(ctx, []*Entry{changed}, nil))

	after := versions(changed) // fails if a key of the new entry is missing
	kept, rewritten := 0, 0
	for k, v := range after {
		if old, ok := before[k]; ok {
			kept++
			if v != old {
				rewritten++
				t.Errorf("index key %q kept by the change was rewritten (version %d -> %d)", k, old, v)
			}
		}
	}
	if kept == 0 || len(after) == kept {
		t.Fatalf("%d of %d index keys kept: the change should keep some and add some", kept, len(after))
	}
	txn := e.db().NewTransaction(false)
	defer txn.Discard()
	for k := range before {
		if _, ok := after[k]; ok {
			continue
		}
		if _, err := txn.Get([]byte(k)); err == nil {
			t.Errorf("index key %q of the old sn value is still there", k)
		}
	}
	got, err := e.Get(ctx, "uid=a,ou=people,dc=example,dc=com")
	must(t, err)
	if string(got.First("sn")) != "Jones" || got.Get("description") == nil {
		t.Fatalf("stored entry %v, want sn Jones and a description", got.Attrs)
	}
}
