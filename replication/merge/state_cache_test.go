package merge

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
)

// memSource is a StateSource over a map: what a replica has stored.
type memSource map[UUID][]byte

func (m memSource) EntryState(u UUID) ([]byte, error) { return m[u], nil }

// boundCache gives every replica of m a State whose attribute stamps
// are kept for at most max entries, the rest read back from a memSource
// that save fills, as the Replicator does with its store.
func (m *sim) boundCache(max int) {
	m.cache = max
	for _, rep := range m.reps {
		rep.stored = memSource{}
		rep.save(m.t) // what newSim applied
		rep.state.SetSource(rep.stored, max)
		rep.state.Saved()
	}
}

// save stores the entries rep's State changed since the last save and
// lets them be evicted.
func (rep *simReplica) save(t testing.TB) {
	t.Helper()
	for u := range rep.state.TakeUnsaved() {
		if b, ok := rep.state.AppendEntryState(nil, u); ok {
			rep.stored[u] = b
		} else {
			delete(rep.stored, u)
		}
	}
	rep.state.Saved()
	if err := rep.state.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestBoundedStateConverges: replicas whose States keep the attribute
// stamps of at most 3 entries in memory (the rest read back from what
// they stored) write, partition, exchange and purge, and converge on
// the directory of a State that holds everything, with the cache bound
// kept after every save.
func TestBoundedStateConverges(t *testing.T) {
	var loads, evicts int64
	for seed := range uint64(8) {
		m := newSim(t, seed+900, 3)
		m.purge = true
		m.boundCache(3)
		m.run(800)
		m.heal()
		for _, rep := range m.reps {
			rep.save(t)
			resident, l, e := rep.state.CacheStats()
			if resident > 3 {
				t.Fatalf("seed %d: replica %d keeps %d entries' stamps after a save, bound 3", seed, rep.id, resident)
			}
			loads, evicts = loads+l, evicts+e
		}
		m.converged()
		for _, rep := range m.reps {
			if err := rep.state.Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if loads == 0 || evicts == 0 {
		t.Fatalf("the cache was never used: %d loads, %d evictions", loads, evicts)
	}
	t.Logf("%d loads, %d evictions", loads, evicts)
}

// TestStateSkeletonLoad: a State opened from stored entry states with
// LoadEntrySkeleton materialises, encodes and takes changes exactly as
// one that decoded them whole.
func TestStateSkeletonLoad(t *testing.T) {
	m := newSim(t, 77, 2)
	m.run(400)
	m.heal()
	src := m.reps[0].state
	stored := memSource{}
	whole := NewState(testSchema{})
	for _, u := range src.Entries() {
		b, _ := src.AppendEntryState(nil, u)
		stored[u] = b
		if err := whole.LoadEntryState(u, b); err != nil {
			t.Fatal(err)
		}
	}
	whole.SetFloor(src.Floor())
	lazy := NewState(testSchema{})
	lazy.SetSource(stored, 5)
	for u, b := range stored {
		if err := lazy.LoadEntrySkeleton(u, b); err != nil {
			t.Fatal(err)
		}
	}
	lazy.SetFloor(src.Floor())
	if resident, _, _ := lazy.CacheStats(); resident != 0 {
		t.Fatalf("%d entries decoded whole at load, want none", resident)
	}
	if lazy.Digest() != whole.Digest() {
		t.Fatalf("digests differ:\n%s\nwhole:\n%s", show(lazy), show(whole))
	}
	for _, u := range whole.Entries() {
		a, _ := whole.AppendEntryState(nil, u)
		b, _ := lazy.AppendEntryState(nil, u)
		if string(a) != string(b) {
			t.Fatalf("entry %s encodes differently", u)
		}
	}
	// Later changes apply the same way to both.
	m.run(400)
	for _, o := range m.reps[1].log {
		if err := whole.Apply(o); err != nil {
			t.Fatal(err)
		}
		if err := lazy.Apply(o); err != nil {
			t.Fatal(err)
		}
	}
	if lazy.Digest() != whole.Digest() {
		t.Fatal("digests differ after more changes")
	}
	if resident, loads, _ := lazy.CacheStats(); loads == 0 || resident > 5+len(lazy.unsaved) {
		t.Fatalf("resident %d, loads %d", resident, loads)
	}
}

// failingSource fails every read.
type failingSource struct{}

func (failingSource) EntryState(UUID) ([]byte, error) { return nil, errTest }

var errTest = errorString("disk on fire")

type errorString string

func (e errorString) Error() string { return string(e) }

// TestStateSourceFailure: an entry whose stored state cannot be read
// makes Apply fail and Err report it, rather than a change being merged
// into stamps that are not there.
func TestStateSourceFailure(t *testing.T) {
	s := apply(t, suffixAdd())
	b, _ := s.AppendEntryState(nil, suffix)
	lazy := NewState(testSchema{})
	lazy.SetSource(failingSource{}, 5)
	if err := lazy.LoadEntrySkeleton(suffix, b); err != nil {
		t.Fatal(err)
	}
	err := lazy.Apply(opMod(at(9, 1), suffix, modAdd("description", "x")))
	if err == nil || lazy.Err() == nil {
		t.Fatalf("Apply: %v, Err: %v; want the source's failure", err, lazy.Err())
	}
}

// TestMaterializeAll: MaterializeAll yields Materialize's entries in its
// order, and leaves a Shown that MaterializeChanged continues from.
func TestMaterializeAll(t *testing.T) {
	m := newSim(t, 31, 3)
	m.run(500)
	m.heal()
	s := m.reps[0].state
	want := s.Materialize()
	var got []Entry
	sh := s.MaterializeAll(func(e *Entry) bool { got = append(got, *e); return true })
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("MaterializeAll differs from Materialize:\n%v\n%v", got, want)
	}
	if sh.Digest() != s.Digest() || sh.Len() != len(want) {
		t.Fatal("the Shown does not match what was yielded")
	}
	s.TakeChanged()
	m.run(300)
	m.heal()
	s.MaterializeChanged(sh, s.TakeChanged())
	if sh.Digest() != s.Digest() {
		t.Fatal("MaterializeChanged from MaterializeAll's Shown diverged")
	}
}

// peopleStates returns n encoded entry states of people with a dozen
// attributes, as a replica stores them.
func peopleStates(n int) (map[UUID][]byte, *State) {
	s := NewState(testSchema{})
	base := at(1, 1)
	for i := range n {
		c := base
		c.Time += int64(i)
		var u UUID
		copy(u[:], fmt.Sprintf("u%015d", i))
		s.Apply(&Op{CSN: c, Kind: change.Add, Entry: u, Parent: suffix, RDN: fmt.Sprintf("cn=person%d", i), Attrs: []Attribute{
			{Name: "objectClass", Values: []string{"top", "person", "organizationalPerson", "inetOrgPerson"}},
			{Name: "cn", Values: []string{fmt.Sprintf("person%d", i)}}, {Name: "sn", Values: []string{"Person"}},
			{Name: "givenName", Values: []string{"Some"}}, {Name: "displayName", Values: []string{fmt.Sprintf("Some Person %d", i)}},
			{Name: "mail", Values: []string{fmt.Sprintf("person%d@example.com", i)}}, {Name: "uid", Values: []string{fmt.Sprintf("p%d", i)}},
			{Name: "telephoneNumber", Values: []string{"+1 555 0100", "+1 555 0101"}}, {Name: "title", Values: []string{"Engineer"}},
			{Name: "description", Values: []string{"a person of the benchmark, with a description of some length"}},
			{Name: "entryUUID", Values: []string{u.String()}}, {Name: "entryCSN", Values: []string{c.String()}},
			{Name: "createTimestamp", Values: []string{"20260101000000Z"}}, {Name: "creatorsName", Values: []string{"cn=admin,dc=example,dc=com"}},
		}})
	}
	out := map[UUID][]byte{}
	for _, u := range s.Entries() {
		out[u], _ = s.AppendEntryState(nil, u)
	}
	return out, s
}

// BenchmarkOpenStates compares loading 10,000 stored entry states whole
// (as Open did) with loading only their placements (as it does now),
// and the heap each leaves.
func BenchmarkOpenStates(b *testing.B) {
	stored, _ := peopleStates(10000)
	for _, skeleton := range []bool{false, true} {
		name := "whole"
		if skeleton {
			name = "skeleton"
		}
		b.Run(name, func(b *testing.B) {
			var s *State
			for range b.N {
				s = NewState(testSchema{})
				if skeleton {
					s.SetSource(memSource(stored), DefaultStateCacheEntries)
				}
				for u, v := range stored {
					var err error
					if skeleton {
						err = s.LoadEntrySkeleton(u, v)
					} else {
						err = s.LoadEntryState(u, v)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			before := heapNow()
			runtime.KeepAlive(s)
			s = nil
			after := heapNow()
			b.ReportMetric((before-after)*(1<<20)/10000, "heapB/entry")
		})
	}
}

// BenchmarkResolvedHeap measures the heap a Replicator keeps per entry
// of a State of 10,000 people loaded from their stored states (as Open
// loads them) and materialised once (as the first resolution does):
// the placements, the resolved view and the Shown, without the
// attribute stamps the cache bounds, which it evicts.
func BenchmarkResolvedHeap(b *testing.B) {
	const n = 10000
	stored, _ := peopleStates(n)
	top := NewState(testSchema{})
	top.Apply(opAdd(at(0, 1), suffix, UUID{}, suffixDN, "objectClass: domain", "dc: example"))
	stored[suffix], _ = top.AppendEntryState(nil, suffix)
	var s *State
	var sh *Shown
	before := heapNow()
	for range b.N {
		s = NewState(testSchema{})
		s.SetSource(memSource(stored), 100)
		for u, v := range stored {
			if err := s.LoadEntrySkeleton(u, v); err != nil {
				b.Fatal(err)
			}
		}
		sh = NewShown()
		s.MaterializeChangedFunc(sh, map[UUID]struct{}{}, func(*Entry, *[32]byte) bool { return false })
		if sh.Len() != n+1 {
			b.Fatalf("shown %d entries, want %d", sh.Len(), n+1)
		}
	}
	b.StopTimer()
	after := heapNow()
	runtime.KeepAlive(s)
	runtime.KeepAlive(sh)
	b.ReportMetric((after-before)*(1<<20)/n, "heapB/entry")
}

// TestLargeAdd: an add with many values (a large group) keeps, per
// equality key, the smallest of the values given, as adding them one by
// one does, and takes far less than the quadratic time of inserting them
// one by one.
func TestLargeAdd(t *testing.T) {
	const n = 200000
	var vals, small []string
	for i := range n {
		vals = append(vals, fmt.Sprintf("member%07d", i), fmt.Sprintf("MEMBER%07d", i))
	}
	for i := range 8 { // 16 values: added one by one
		small = append(small, fmt.Sprintf("member%07d", i), fmt.Sprintf("MEMBER%07d", i))
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	s := NewState(testSchema{})
	applyAll(s, []*Op{suffixAdd(), opAdd(at(2, 1), id(2), suffix, "cn=big", "objectClass: groupOfNames", "cn: big"),
		opAdd(at(3, 1), id(3), suffix, "cn=small", "objectClass: groupOfNames", "cn: small")})
	start := time.Now()
	if err := s.Apply(opMod(at(4, 1), id(2), modAdd("member", vals...))); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("adding %d values took %v", len(vals), took)
	}
	if err := s.Apply(opMod(at(4, 1), id(3), modAdd("member", small...))); err != nil {
		t.Fatal(err)
	}
	for _, e := range s.Materialize() {
		if e.UUID != id(2) && e.UUID != id(3) {
			continue
		}
		want := n
		if e.UUID == id(3) {
			want = 8
		}
		for _, a := range e.Attrs {
			if a.Name != "member" {
				continue
			}
			if len(a.Values) != want {
				t.Fatalf("%s: %d members, want %d", e.DN, len(a.Values), want)
			}
			for _, v := range a.Values {
				if !strings.HasPrefix(v, "MEMBER") {
					t.Fatalf("%s: kept %q, want the smallest spelling", e.DN, v)
				}
			}
		}
	}
}

// BenchmarkAppendEntryStateGroup encodes the state of a group of 10,000
// members, as each save of a changed group does: one allocation of the
// right size, not a buffer grown from nothing.
func BenchmarkAppendEntryStateGroup(b *testing.B) {
	var vals []string
	for i := range 10000 {
		vals = append(vals, fmt.Sprintf("cn=person %05d,ou=people,dc=example,dc=com", i))
	}
	s := NewState(testSchema{})
	applyAll(s, []*Op{suffixAdd(), opAdd(at(2, 1), id(2), suffix, "cn=big", "objectClass: groupOfNames", "cn: big")})
	if err := s.Apply(opMod(at(4, 1), id(2), modAdd("member", vals...))); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.AppendEntryState(nil, id(2)); !ok {
			b.Fatal("no state")
		}
	}
}
