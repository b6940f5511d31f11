package replication

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/replication/changelog"
	"github.com/switchboard-ldap/switchboard/schema"
)

// failHook refuses writes to DNs starting with "cn=fail".
type failHook struct{}

func (failHook) Name() string { return "fail" }
func (failHook) OnChange(_ context.Context, _ *directory.Tx, ch *directory.Change) error {
	en := ch.After
	if en == nil {
		en = ch.Before
	}
	if strings.HasPrefix(en.DN, "cn=fail") {
		return errors.New("refused")
	}
	return nil
}

func openLog(t *testing.T, cfg Config) (*directory.Engine, *Changelog) {
	t.Helper()
	s, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Replica == 0 {
		cfg.Replica = 1
	}
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := directory.Open(directory.Options{InMemory: true, Suffix: "dc=example,dc=com", Schema: s,
		Hooks: []directory.WriteHook{l, failHook{}}, Stamper: l, Virtual: []directory.VirtualAttribute{ContextCSN{L: l}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	if err := l.Open(eng); err != nil {
		t.Fatal(err)
	}
	return eng, l
}

func add(t *testing.T, eng *directory.Engine, dn string, attrs ...string) *directory.Change {
	t.Helper()
	var as []directory.Attr
	for i := 0; i+1 < len(attrs); i += 2 {
		as = append(as, directory.Attr{Name: attrs[i], Values: [][]byte{[]byte(attrs[i+1])}})
	}
	ch, err := eng.Add(context.Background(), dn, as, directory.WriteOptions{})
	if err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
	return ch
}

func records(t *testing.T, eng *directory.Engine, l *Changelog, from map[uint16]change.CSN) []*Record {
	t.Helper()
	var out []*Record
	err := eng.View(func(v *directory.View) error {
		return l.Since(v, from, func(r *Record) error { out = append(out, r); return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestChangelogRecordsEveryWriteAtomically(t *testing.T) {
	eng, l := openLog(t, Config{Replica: 7})
	ctx := context.Background()
	add(t, eng, "dc=example,dc=com", "objectClass", "domain", "dc", "example")
	ch := add(t, eng, "cn=a,dc=example,dc=com", "objectClass", "person", "cn", "a", "sn", "x")
	if ch.CSN.IsZero() || ch.After.First("entryCSN") != ch.CSN.String() || ch.CSN.Replica != 7 {
		t.Fatalf("add stamped %v, entryCSN %q", ch.CSN, ch.After.First("entryCSN"))
	}
	mods := []directory.Mod{{Op: change.ModReplace, Attr: directory.Attr{Name: "sn", Values: [][]byte{[]byte("y"), []byte("z")}}}}
	if _, err := eng.Modify(ctx, "cn=a,dc=example,dc=com", mods, directory.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.ModifyDN(ctx, "cn=a,dc=example,dc=com", "cn=b", false, nil, directory.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Delete(ctx, "cn=b,dc=example,dc=com", directory.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	safe := l.Safe()
	// A write a later hook refuses leaves no record and no CSN in flight.
	if _, err := eng.Add(ctx, "cn=fail,dc=example,dc=com", []directory.Attr{{Name: "objectClass", Values: [][]byte{[]byte("person")}},
		{Name: "cn", Values: [][]byte{[]byte("fail")}}, {Name: "sn", Values: [][]byte{[]byte("x")}}}, directory.WriteOptions{}); err == nil {
		t.Fatal("the failing hook did not fail the add")
	}
	recs := records(t, eng, l, nil)
	var ops []string
	for _, r := range recs {
		ops = append(ops, r.Kind.String())
		if r.CSN.Replica != 7 {
			t.Errorf("record %s has replica %d", r.CSN, r.CSN.Replica)
		}
	}
	if got := strings.Join(ops, ","); got != "add,add,modify,modrdn,delete" {
		t.Fatalf("records %s", got)
	}
	if m := recs[2].Mods; len(m) == 0 || recs[3].NewDN != "cn=b,dc=example,dc=com" || recs[4].UUID != recs[1].UUID {
		t.Errorf("records: mods %+v newDN %q delete UUID %q add UUID %q", m, recs[3].NewDN, recs[4].UUID, recs[1].UUID)
	}
	if l.Safe() != safe || safe != recs[4].CSN || !l.Clock().Last().Less(l.Committed()) {
		t.Errorf("safe %s after the failed write (was %s, last record %s), committed bound %s, last CSN %s", l.Safe(), safe, recs[4].CSN, l.Committed(), l.Clock().Last())
	}
	// Since skips what the cookie already has.
	if got := records(t, eng, l, map[uint16]change.CSN{7: recs[2].CSN}); len(got) != 2 {
		t.Errorf("since the modify: %d records, want 2", len(got))
	}
	// contextCSN on the suffix entry is the safe CSN.
	err := eng.Search(ctx, &directory.SearchRequest{BaseDN: "dc=example,dc=com", Scope: ldap.ScopeBaseObject, Filter: &ldap.Filter{Kind: ldap.FilterAnd}, Operational: true}, func(en *directory.Entry) error {
		if got := en.First("contextCSN"); got != safe.String() {
			t.Errorf("contextCSN %q, want %q", got, safe)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestChangelogReplayRecords(t *testing.T) {
	eng, l := openLog(t, Config{})
	ctx := context.Background()
	add(t, eng, "dc=example,dc=com", "objectClass", "domain", "dc", "example")
	add(t, eng, "cn=g,dc=example,dc=com", "objectClass", "groupOfNames", "cn", "g", "member", "cn=m1")
	mods := []directory.Mod{
		{Op: change.ModAdd, Attr: directory.Attr{Name: "member", Values: [][]byte{[]byte("cn=m2"), []byte("cn=m3")}}},
		{Op: change.ModDelete, Attr: directory.Attr{Name: "member", Values: [][]byte{[]byte("cn=m1")}}},
		{Op: change.ModAdd, Attr: directory.Attr{Name: "description", Values: [][]byte{[]byte("d")}}},
	}
	ch, err := eng.Modify(ctx, "cn=g,dc=example,dc=com", mods, directory.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	recs := records(t, eng, l, nil)
	// Replaying the modify record on the entry before gives the entry after.
	replay := ch.Before.Clone()
	for _, m := range recs[2].Mods {
		cur := replay.Get(m.Attr.Name)
		switch {
		case m.Op == change.ModReplace:
			replay.Set(m.Attr.Name, m.Attr.Values)
		case m.Op == change.ModAdd:
			replay.Set(m.Attr.Name, append(append([][]byte(nil), cur...), m.Attr.Values...))
		case len(m.Attr.Values) == 0:
			replay.Set(m.Attr.Name, nil)
		default:
			replay.Set(m.Attr.Name, without(cur, m.Attr.Values))
		}
	}
	for _, a := range ch.After.Attrs {
		if fmt.Sprint(sortedVals(replay.Get(a.Name))) != fmt.Sprint(sortedVals(a.Values)) {
			t.Errorf("%s: replay gives %q, want %q", a.Name, replay.Get(a.Name), a.Values)
		}
	}
}

// without returns the values of a not in b.
func without(a, b [][]byte) [][]byte {
	return slices.DeleteFunc(slices.Clone(a), func(v []byte) bool {
		return slices.ContainsFunc(b, func(w []byte) bool { return bytes.Equal(v, w) })
	})
}

func sortedVals(v [][]byte) []string {
	out := make([]string, len(v))
	for i := range v {
		out[i] = string(v[i])
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func TestChangelogTrimAndCoverage(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	eng, l := openLog(t, Config{MaxAge: time.Hour, MaxEntries: 1000, Now: clock})
	ctx := context.Background()
	add(t, eng, "dc=example,dc=com", "objectClass", "domain", "dc", "example")
	for i := range 5 {
		now = now.Add(time.Minute)
		add(t, eng, fmt.Sprintf("cn=p%d,dc=example,dc=com", i), "objectClass", "person", "cn", fmt.Sprint("p", i), "sn", "x")
	}
	recs := records(t, eng, l, nil)
	cov := func() Coverage {
		var c Coverage
		eng.View(func(v *directory.View) error { var err error; c, err = l.Coverage(v); return err })
		return c
	}
	if !cov().Covers(nil) {
		t.Fatal("an empty store's log should cover a consumer that has seen nothing")
	}
	// A consumer at the third record holds the log above it.
	if err := l.Acknowledge(ctx, "c1", map[uint16]change.CSN{1: recs[2].CSN}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Hour) // everything is older than MaxAge
	n, err := l.Trim(ctx)
	if err != nil || n != 3 {
		t.Fatalf("trim removed %d (%v), want 3 (up to the consumer's position)", n, err)
	}
	c := cov()
	if c.Covers(nil) || !c.Covers(map[uint16]change.CSN{1: recs[2].CSN}) || c.Covers(map[uint16]change.CSN{1: recs[1].CSN}) {
		t.Errorf("coverage after trimming to %s: %v", recs[2].CSN, c)
	}
	if got := records(t, eng, l, nil); len(got) != 3 || got[0].CSN != recs[3].CSN {
		t.Errorf("%d records left", len(got))
	}
	// The consumer moves on; then it expires and no longer holds anything.
	if err := l.Acknowledge(ctx, "c1", map[uint16]change.CSN{1: recs[4].CSN}); err != nil {
		t.Fatal(err)
	}
	if n, _ := l.Trim(ctx); n != 2 {
		t.Errorf("second trim removed %d, want 2", n)
	}
	now = now.Add(31 * 24 * time.Hour)
	if n, _ := l.Trim(ctx); n != 1 {
		t.Errorf("trim after the consumer expired removed %d, want 1", n)
	}
	if cs, _ := l.Consumers(); len(cs) != 0 {
		t.Errorf("consumers %v after expiry", cs)
	}
	// The clock resumes above the log after a restart (here: a new log
	// on the same engine's records).
	l2, _ := New(Config{Replica: 1, Now: clock})
	if err := l2.Open(eng); err != nil {
		t.Fatal(err)
	}
	if next := l2.Clock().Next(); !recs[5].CSN.Less(next) {
		t.Errorf("clock after reopen issued %s, not above %s", next, recs[5].CSN)
	}
}

func TestChangelogSizeBound(t *testing.T) {
	eng, l := openLog(t, Config{MaxEntries: 4})
	add(t, eng, "dc=example,dc=com", "objectClass", "domain", "dc", "example")
	for i := range 9 {
		add(t, eng, fmt.Sprintf("cn=p%d,dc=example,dc=com", i), "objectClass", "person", "cn", fmt.Sprint("p", i), "sn", "x")
	}
	if n, err := l.Trim(context.Background()); err != nil || n != 6 {
		t.Errorf("size trim removed %d (%v), want 6", n, err)
	}
}

// FuzzDecodeLogRecord: a stored change log record decodes without a
// panic, and what decodes encodes back to the same bytes.
func FuzzDecodeLogRecord(f *testing.F) {
	u := UUID{1, 2, 3}
	for _, r := range []*LogRecord{
		{Feed: true, DN: "cn=a", Op: Op{Kind: change.Add, Entry: u, Attrs: []Attribute{{Name: "cn", Values: []string{"a"}}}}},
		{Feed: true, DN: "cn=a", Op: Op{Kind: change.Modify, Entry: u, Mods: []Mod{{Op: change.ModDelete, Attr: "sn"}}}},
		{Feed: true, DN: "cn=a", Also: []UUID{{9}}, Op: Op{Kind: change.Delete, Entry: u}},
		{Feed: true, Replicated: true, DN: "cn=a", NewDN: "cn=b", Op: Op{Kind: change.ModRDN, Entry: u, Parent: UUID{4}, RDN: "cn=b"}},
		{Replicated: true, Op: Op{Kind: change.Modify, Entry: u, Mods: []Mod{{Op: change.ModAdd, Attr: "sn", Values: []string{"x"}}}}},
	} {
		f.Add(r.AppendBinary(nil, nil))
	}
	sl := testSealer(f, 1, "sn")
	f.Add((&LogRecord{Replicated: true, Op: Op{Kind: change.Modify, Entry: u, Mods: []Mod{{Op: change.ModAdd, Attr: "sn", Values: []string{"x"}}}}}).AppendBinary(nil, sl))
	f.Fuzz(func(t *testing.T, b []byte) {
		// As a pull serves it: sealed values left sealed, then opened
		// by the consumer (or refused).
		sealed := false
		if r, err := changelog.DecodeRecordSealed(b); err == nil {
			if again := r.AppendBinary(nil, nil); !bytes.Equal(again, b) {
				t.Fatalf("sealed record does not round-trip:\n%x\n%x\n%+v", b, again, r)
			}
			sealed = opSealed(&r.Op)
			changelog.OpenOp(&r.Op, sl)
		}
		r, err := changelog.DecodeRecord(b, nil)
		if err != nil || sealed {
			// Opened (here, without a key: a sealed attribute without
			// values), a sealed record re-encodes as its sealer decides.
			return
		}
		if again := r.AppendBinary(nil, nil); !bytes.Equal(again, b) {
			t.Fatalf("record does not round-trip:\n%x\n%x\n%+v", b, again, r)
		}
	})
}

// TestCommittedBound: Committed stays at the smallest CSN still in
// flight, whatever settled above it, and passes every issued CSN (and
// its sub-operations) once nothing is in flight.
func TestCommittedBound(t *testing.T) {
	_, l := openLog(t, Config{})
	first := l.Stamp()
	second := l.Stamp()
	c1, c2 := first, second
	l.Settle(second, &directory.Change{Kind: change.Add})
	if got := l.Committed(); got != c1 {
		t.Fatalf("Committed = %s with %s in flight, want %s", got, first, c1)
	}
	derived := l.Clock().Next() // a hook's CSN drawn inside the first write
	l.Settle(first, nil)
	got := l.Committed()
	for _, c := range []change.CSN{c1, c2, c2.WithSub(change.MaxSub), derived, derived.WithSub(change.MaxSub)} {
		if !c.Less(got) {
			t.Fatalf("Committed = %s with nothing in flight, not above %s", got, c)
		}
	}
	third := l.Stamp()
	if !got.Less(third) && got != third {
		t.Fatalf("a later stamp %s sorts below the earlier bound %s", third, got)
	}
}

// TestSubscriptionCSNOrder: a commit that settles before a write stamped
// earlier waits for it, so the engine's stream carries the commits in CSN
// order, and none is lost when the earlier write is given up.
func TestSubscriptionCSNOrder(t *testing.T) {
	eng, l := openLog(t, Config{})
	sub := eng.Changes().Subscribe()
	defer sub.Close()
	first, second, third := l.Stamp(), l.Stamp(), l.Stamp()
	l.Settle(third, &directory.Change{Kind: change.Modify})
	l.Settle(second, &directory.Change{Kind: change.Delete})
	select {
	case ev := <-sub.C():
		t.Fatalf("%s went out while %s was in flight", ev.CSN, first)
	default:
	}
	l.Settle(first, &directory.Change{Kind: change.Add})
	var got []change.CSN
	for range 3 {
		ev := <-sub.C()
		if ev.Safe.Less(ev.CSN) {
			t.Errorf("event %s with safe CSN %s below it", ev.CSN, ev.Safe)
		}
		got = append(got, ev.CSN)
	}
	if want := []change.CSN{first, second, third}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events in order %v, want %v", got, want)
	}
	// A write given up releases what waited behind it.
	a, b := l.Stamp(), l.Stamp()
	l.Settle(b, &directory.Change{Kind: change.Modify})
	l.Settle(a, nil)
	if ev := <-sub.C(); ev.CSN != b {
		t.Fatalf("got %s, want %s", ev.CSN, b)
	}
}

// TestChangelogStreamConcurrentWriters: with the Changelog sequencing
// the engine's stream, concurrent writers' commits reach a subscriber
// once each, in CSN order, each with a safe CSN at or above its own, and
// a failed write leaves nothing behind it waiting.
func TestChangelogStreamConcurrentWriters(t *testing.T) {
	eng, _ := openLog(t, Config{})
	add(t, eng, "dc=example,dc=com", "objectClass", "domain", "dc", "example")
	sub := eng.Changes().Subscribe()
	defer sub.Close()
	const writers, each = 6, 20
	ctx := context.Background()
	errs := make(chan error, writers*each)
	done := make(chan struct{})
	for w := range writers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range each {
				cn := fmt.Sprintf("w%d-%d", w, i)
				if i%7 == 3 {
					cn = "fail" + cn // refused by failHook: stamped, never committed
				}
				_, err := eng.Add(ctx, "cn="+cn+",dc=example,dc=com", []directory.Attr{
					{Name: "objectClass", Values: [][]byte{[]byte("person")}},
					{Name: "cn", Values: [][]byte{[]byte(cn)}}, {Name: "sn", Values: [][]byte{[]byte("x")}},
				}, directory.WriteOptions{})
				if (err != nil) != strings.HasPrefix(cn, "fail") {
					errs <- fmt.Errorf("add %s: %v", cn, err)
				}
			}
		}()
	}
	for range writers {
		<-done
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := writers * (each - (each+3)/7)
	seen := map[string]bool{}
	var last change.CSN
	for len(seen) < want {
		var ev directory.CommittedChange
		select {
		case ev = <-sub.C():
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d commits arrived", len(seen), want)
		}
		if !last.Less(ev.CSN) || ev.Safe.Less(ev.CSN) {
			t.Fatalf("commit %s (safe %s) after %s", ev.CSN, ev.Safe, last)
		}
		last = ev.CSN
		if dn := ev.Change.After.DN; seen[dn] || strings.HasPrefix(dn, "cn=fail") {
			t.Fatalf("%s delivered twice, or failed and delivered", dn)
		} else {
			seen[dn] = true
		}
	}
	select {
	case ev := <-sub.C():
		t.Fatalf("an extra commit %s", ev.CSN)
	default:
	}
}
