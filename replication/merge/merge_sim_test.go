package merge

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// A sim runs replicas that write to their own view of the directory and
// exchange changes only within partitions that come and go, the way a
// topology behaves during network splits. Each replica has its own clock,
// some of them skewed.
type sim struct {
	t    testing.TB
	r    *rand.Rand
	now  int64 // microseconds
	reps []*simReplica
	ops  []*Op // every change made, in the order made

	// purge makes run purge replicas at causally stable bounds.
	purge  bool
	purged int
	// gapAt is, for each change, the smallest CSN its origin had not
	// applied when it made it.
	gapAt map[*Op]change.CSN
	// cache, if positive, bounds each replica's State to that many
	// entries' attribute stamps (boundCache), and run saves them now
	// and then.
	cache int
}

type simReplica struct {
	id    uint16
	skew  int64
	group int // replicas exchange changes only within a group
	clock *Clock
	state *State
	log   []*Op // changes applied, own and received, in order
	have  map[*Op]bool
	// stored is what save stored, with sim.cache.
	stored memSource
}

func newSim(t testing.TB, seed uint64, replicas int) *sim {
	m := &sim{t: t, r: rand.New(rand.NewPCG(seed, 7)), now: epoch}
	for i := range replicas {
		rep := &simReplica{id: uint16(i + 1), skew: int64(m.r.IntN(100_000)), state: NewState(testSchema{}), have: map[*Op]bool{}}
		clock, err := NewClock(ClockConfig{Replica: rep.id, Now: func() time.Time { return time.UnixMicro(m.now + rep.skew) }})
		if err != nil {
			t.Fatal(err)
		}
		rep.clock = clock
		m.reps = append(m.reps, rep)
	}
	// Replica 1 creates the suffix and everybody gets it.
	m.record(m.reps[0], func(c change.CSN) *Op {
		return opAdd(c, suffix, UUID{}, suffixDN, "objectClass: domain", "dc: example")
	})
	m.heal()
	return m
}

func (m *sim) record(rep *simReplica, make func(change.CSN) *Op) {
	o := make(rep.clock.Next())
	if m.gapAt == nil {
		m.gapAt = map[*Op]change.CSN{}
	}
	m.gapAt[o] = m.gap(rep)
	if err := rep.state.Apply(o); err != nil {
		m.t.Fatalf("replica %d: own change refused: %v", rep.id, err)
	}
	rep.log = append(rep.log, o)
	rep.have[o] = true
	m.ops = append(m.ops, o)
}

// pull gives dst every change src has and dst lacks, in src's order.
func (m *sim) pull(dst, src *simReplica) (n int) {
	for _, o := range src.log {
		if dst.have[o] {
			continue
		}
		if err := dst.clock.Observe(o.CSN); err != nil {
			m.t.Fatal(err)
		}
		if err := dst.state.Apply(o); err != nil {
			m.t.Fatalf("replica %d refused %s from %d: %v", dst.id, o.CSN, src.id, err)
		}
		dst.log = append(dst.log, o)
		dst.have[o] = true
		n++
	}
	return n
}

// heal joins every partition and exchanges until all replicas have all
// changes.
func (m *sim) heal() {
	for _, rep := range m.reps {
		rep.group = 0
	}
	for moved := true; moved; {
		moved = false
		for _, a := range m.reps {
			for _, b := range m.reps {
				if a != b && m.pull(a, b) > 0 {
					moved = true
				}
			}
		}
	}
}

func (m *sim) run(steps int) {
	for range steps {
		m.now += int64(m.r.IntN(3)) // often the same microsecond
		if m.cache > 0 && m.r.IntN(8) == 0 {
			m.reps[m.r.IntN(len(m.reps))].save(m.t)
		}
		switch x := m.r.IntN(100); {
		case x < 2 && m.purge:
			rep := m.reps[m.r.IntN(len(m.reps))]
			if bound := m.stableBound(rep); !bound.IsZero() {
				d := rep.state.Digest()
				rep.state.Purge(bound)
				if rep.state.Digest() != d {
					m.t.Fatalf("Purge(%s) changed replica %d's directory", bound, rep.id)
				}
				m.purged++
			}
		case x < 4:
			for _, rep := range m.reps {
				rep.group = m.r.IntN(len(m.reps))
			}
		case x < 30:
			a, b := m.reps[m.r.IntN(len(m.reps))], m.reps[m.r.IntN(len(m.reps))]
			if a.group == b.group {
				m.pull(a, b)
			}
		default:
			m.write(m.reps[m.r.IntN(len(m.reps))])
		}
	}
}

// infinity sorts after every CSN a sim makes.
var infinity = change.CSN{Time: change.MaxTime}

// gap is the smallest CSN among the changes rep has not applied.
func (m *sim) gap(rep *simReplica) change.CSN {
	g := infinity
	for _, o := range m.ops {
		if !rep.have[o] && o.CSN.Less(g) {
			g = o.CSN
		}
	}
	return g
}

// stableBound is the largest bound at which rep may purge (Purge's two
// conditions): below every replica's gap and every replica's clock (so
// that changes made later, anywhere, are above it and come from replicas
// that have everything below it), and below the gap its origin had when
// it made each change rep has not applied.
func (m *sim) stableBound(rep *simReplica) change.CSN {
	b := infinity
	lower := func(c change.CSN) {
		if c.Less(b) {
			b = c
		}
	}
	for _, r := range m.reps {
		lower(m.gap(r))
		lower(r.clock.Last())
	}
	for _, o := range m.ops {
		if !rep.have[o] {
			lower(m.gapAt[o])
		}
	}
	return b
}

var simNames = []string{"a", "b", "c", "D"}

// write makes one change that is valid in rep's own view.
func (m *sim) write(rep *simReplica) {
	view := rep.state.Materialize()
	var live []Entry
	for _, e := range view {
		if !e.Glue {
			live = append(live, e)
		}
	}
	nonSuffix := slices.DeleteFunc(slices.Clone(live), func(e Entry) bool { return e.UUID == suffix })
	r := m.r
	pickName := func() string { return "cn=" + simNames[r.IntN(len(simNames))] }
	taken := func(parent UUID, rdn string) bool {
		for _, e := range view {
			if e.Parent == parent && strings.HasPrefix(strings.ToLower(e.DN), strings.ToLower(rdn)+",") {
				return true
			}
		}
		return false
	}
	switch x := r.IntN(100); {
	case x < 35 || len(nonSuffix) == 0:
		parent := live[r.IntN(len(live))].UUID
		rdn := pickName()
		if taken(parent, rdn) {
			return
		}
		var u UUID
		for i := range u {
			u[i] = byte(r.UintN(256))
		}
		pairs := []string{"objectClass: person", "cn: " + rdn[3:], fmt.Sprintf("sn: s%d", r.IntN(3))}
		if r.IntN(2) == 0 {
			pairs = append(pairs, fmt.Sprintf("displayName: n%d", r.IntN(3)))
		}
		m.record(rep, func(c change.CSN) *Op { return opAdd(c, u, parent, rdn, pairs...) })
	case x < 70:
		e := nonSuffix[r.IntN(len(nonSuffix))]
		var mods []Mod
		for range 1 + r.IntN(3) {
			v := fmt.Sprintf("d%d", r.IntN(4))
			switch r.IntN(8) {
			case 0:
				mods = append(mods, modAdd("description", v))
			case 1:
				mods = append(mods, modAdd("Description", strings.ToUpper(v), "x"))
			case 2:
				mods = append(mods, modDel("description", v))
			case 3:
				mods = append(mods, modDel("description"))
			case 4:
				mods = append(mods, modRepl("description", v))
			case 5:
				mods = append(mods, modRepl("displayName", "n"+v))
			case 6:
				mods = append(mods, modAdd("displayName", "n"+v))
			case 7:
				mods = append(mods, modDel("displayName"))
			}
		}
		m.record(rep, func(c change.CSN) *Op { return opMod(c, e.UUID, mods...) })
	case x < 85:
		e := nonSuffix[r.IntN(len(nonSuffix))]
		if slices.ContainsFunc(view, func(c Entry) bool { return c.Parent == e.UUID }) {
			return // not a leaf
		}
		m.record(rep, func(c change.CSN) *Op { return opDel(c, e.UUID) })
	default:
		e := nonSuffix[r.IntN(len(nonSuffix))]
		parent := e.Parent
		if r.IntN(2) == 0 {
			parent = live[r.IntN(len(live))].UUID
		}
		for p := parent; !p.IsRoot(); p = find(view, p).Parent {
			if p == e.UUID {
				return // would move below itself
			}
		}
		rdn := pickName()
		if taken(parent, rdn) {
			return
		}
		dn, err := ldap.ParseDN(e.DN)
		if err != nil {
			m.t.Fatal(err)
		}
		old := slices.DeleteFunc(dn[0], func(a ldap.AVA) bool { return strings.EqualFold(a.Type, "entryUUID") })
		oldRDN := ldap.DN{old}.String()
		if r.IntN(3) == 0 {
			oldRDN = ""
		}
		m.record(rep, func(c change.CSN) *Op { return opMove(c, e.UUID, parent, rdn, oldRDN) })
	}
}

// converged asserts that every replica shows the same directory as a
// state built from all changes in the order they were made.
func (m *sim) converged() *State {
	m.t.Helper()
	ref := apply(m.t, m.ops...)
	want := ref.Digest()
	// No resurrection: a deleted entry is at most glue.
	view := ref.Materialize()
	for _, o := range m.ops {
		if e := find(view, o.Entry); o.Kind == change.Delete && e != nil && !e.Glue {
			m.t.Fatalf("deleted entry %s is live again: %+v", o.Entry, e)
		}
	}
	for _, rep := range m.reps {
		if rep.state.Digest() != want {
			m.t.Fatalf("replica %d diverged:\n%s\nreference:\n%s", rep.id, show(rep.state), show(ref))
		}
		if a, b := m.conflicts(rep.state), m.conflicts(ref); a != b {
			m.t.Fatalf("replica %d conflicts %s, reference %s", rep.id, a, b)
		}
	}
	return ref
}

// conflicts renders s.Conflicts(), without the ignored moves if the run
// purged: Purge forgets those below its bound.
func (m *sim) conflicts(s *State) string {
	cs := s.Conflicts()
	if m.purged > 0 {
		cs = slices.DeleteFunc(cs, func(c Conflict) bool { return c.Kind == ConflictMove })
	}
	return fmt.Sprint(cs)
}

// TestOrderIndependence: the changes of a partitioned three-replica run,
// delivered in 1,000 random orders with random duplicates, always give
// the same directory and the same conflicts.
func TestOrderIndependence(t *testing.T) {
	m := newSim(t, 1, 3)
	m.run(1000)
	m.heal()
	ref := m.converged()
	want, wantC := ref.Digest(), fmt.Sprint(ref.Conflicts())
	kinds := map[ConflictKind]int{}
	for _, c := range ref.Conflicts() {
		kinds[c.Kind]++
	}
	t.Logf("%d changes, %d visible entries, %d held, conflicts %v", len(m.ops), len(ref.Materialize()), ref.Len(), kinds)
	if kinds[ConflictName] == 0 || kinds[ConflictGlue] == 0 {
		t.Fatalf("the run made no name or glue conflicts (%v): the test proves little", kinds)
	}
	r := rand.New(rand.NewPCG(99, 1))
	for i := range 1000 {
		s := apply(t, shuffled(r, m.ops)...)
		if s.Digest() != want {
			t.Fatalf("order %d: digest differs:\n%s\nreference:\n%s", i, show(s), show(ref))
		}
		if got := fmt.Sprint(s.Conflicts()); got != wantC {
			t.Fatalf("order %d: conflicts %s, want %s", i, got, wantC)
		}
	}
}

// TestConvergenceManySeeds: many shorter partitioned runs all converge,
// and a few random orders of each agree.
func TestConvergenceManySeeds(t *testing.T) {
	kinds := map[ConflictKind]int{}
	for seed := range uint64(40) {
		m := newSim(t, seed+100, 2+int(seed%3))
		m.run(400)
		m.heal()
		ref := m.converged()
		for _, c := range ref.Conflicts() {
			kinds[c.Kind]++
		}
		r := rand.New(rand.NewPCG(seed, 3))
		for range 20 {
			if apply(t, shuffled(r, m.ops)...).Digest() != ref.Digest() {
				t.Fatalf("seed %d: order-dependent", seed)
			}
		}
	}
	t.Logf("conflicts over all seeds: %v", kinds)
}

// TestPurgeConvergence: replicas purge at different times once everything
// below the bound has reached everyone, keep writing through partitions,
// and still converge with a state that never purged.
func TestPurgeConvergence(t *testing.T) {
	for seed := range uint64(6) {
		m := newSim(t, seed+500, 3)
		m.run(600)
		m.heal()
		m.converged()
		// Everything has reached everyone, and every clock has observed
		// every CSN, so any CSN up to the largest one made is causally
		// stable. (A replica's own clock.Next() would not be: a replica
		// whose clock is behind can still make changes below it.) Each
		// replica picks its own bound.
		newest := m.newest()
		before := 0
		for _, rep := range m.reps {
			before += rep.state.Len()
			d := rep.state.Digest()
			bound := m.ops[m.r.IntN(len(m.ops))].CSN
			if rep.id == 1 {
				bound = newest
			}
			rep.state.Purge(bound)
			if rep.state.Digest() != d {
				t.Fatalf("seed %d: Purge(%s) changed replica %d's directory", seed, bound, rep.id)
			}
			// Replays of purged history are ignored.
			for _, o := range rep.log {
				if err := rep.state.Apply(o); err != nil {
					t.Fatal(err)
				}
			}
			if rep.state.Digest() != d {
				t.Fatalf("seed %d: replaying history after Purge changed replica %d", seed, rep.id)
			}
		}
		after := 0
		for _, rep := range m.reps {
			after += rep.state.Len()
		}
		if seed == 0 {
			t.Logf("entries held before purge %d, after %d", before, after)
		}
		if after >= before {
			t.Fatalf("seed %d: purge kept every entry (%d)", seed, before)
		}
		m.run(600)
		m.heal()
		m.converged()
	}
}

// newest returns the largest CSN of the changes made so far.
func (m *sim) newest() change.CSN {
	var newest change.CSN
	for _, o := range m.ops {
		if newest.Less(o.CSN) {
			newest = o.CSN
		}
	}
	return newest
}

// TestPurgeDuringPartitions: replicas purge at causally stable bounds
// while changes are still in flight between partitions, and converge
// with a state that never purged.
func TestPurgeDuringPartitions(t *testing.T) {
	purged := 0
	for seed := range uint64(8) {
		m := newSim(t, seed+700, 3)
		m.purge = true
		m.run(1500)
		m.heal()
		m.converged()
		purged += m.purged
	}
	t.Logf("%d purges", purged)
	if purged == 0 {
		t.Fatal("no purge happened")
	}
}

// TestPurgeKeepsGlue: a tombstone that is a live entry's parent survives
// the purge, so the child keeps its DN.
func TestPurgeKeepsGlue(t *testing.T) {
	p, c := id(30), id(31)
	s := apply(t, suffixAdd(),
		opAdd(at(1, 1), p, suffix, "ou=p", "ou: p"),
		opDel(at(5, 1), p),
		opAdd(at(4, 2), c, p, "cn=c", "cn: c"),
		opAdd(at(2, 1), id(32), suffix, "cn=gone", "cn: gone"),
		opDel(at(3, 1), id(32)),
		opMod(at(2, 2), c, modAdd("description", "a")),
		opMod(at(3, 2), c, modDel("description", "a")),
	)
	d := s.Digest()
	s.Purge(at(10, 1))
	if s.Digest() != d || s.Len() != 3 {
		t.Fatalf("after purge: %d entries held\n%s", s.Len(), show(s))
	}
	if e := find(s.Materialize(), c); e == nil || e.DN != "cn=c,ou=p,"+suffixDN {
		t.Fatalf("child lost its glue parent:\n%s", show(s))
	}
	if a := s.entries[c].attr("description"); a != nil {
		t.Fatalf("removed value kept after purge: %+v", a)
	}
}

// TestPurgeableSkipsOnlyNoOps: over simulated histories, at bounds from
// the changes made, a purge that purgeable skips would have changed
// nothing (the full pass leaves every entry's stamps as they were), and
// both answers occur: after a full purge at the newest change nothing is
// left to purge below it, and later changes bring history to purge.
func TestPurgeableSkipsOnlyNoOps(t *testing.T) {
	encode := func(s *State) string {
		var b []byte
		for _, u := range s.Entries() {
			var ok bool
			if b, ok = s.AppendEntryState(append(b, u[:]...), u); !ok {
				t.Fatalf("no state for %s", u)
			}
		}
		return string(b)
	}
	skipped, full := 0, 0
	for seed := range uint64(6) {
		m := newSim(t, seed+900, 3)
		m.run(400)
		m.heal()
		m.converged()
		newest := m.newest()
		for _, rep := range m.reps {
			rep.state.purgeAll(newest)
		}
		m.run(150)
		m.heal() // (not converged: purged history forgets old conflicts)
		for _, rep := range m.reps {
			for range 30 {
				bound := m.ops[m.r.IntN(len(m.ops))].CSN
				if rep.state.purgeable(bound) {
					full++
					continue
				}
				skipped++
				c := rep.state.Clone()
				before := encode(c)
				c.purgeAll(bound)
				if encode(c) != before {
					t.Fatalf("seed %d replica %d: purgeable(%s) is false, but a purge changed the state", seed, rep.id, bound)
				}
			}
		}
	}
	t.Logf("%d bounds skipped, %d purged in full", skipped, full)
	if skipped == 0 || full == 0 {
		t.Fatalf("%d bounds skipped, %d purged in full: both must occur", skipped, full)
	}
}

// TestPurgeable: each kind of history Purge forgets makes a state
// purgeable at a bound above it, and not at one below it; plain adds
// never do.
func TestPurgeable(t *testing.T) {
	ou, p := id(2), id(3)
	base := []*Op{suffixAdd(),
		opAdd(at(1, 1), ou, suffix, "ou=a", "objectClass: organizationalUnit", "ou: a"),
		opAdd(at(2, 1), p, suffix, "cn=p", "objectClass: person", "cn: p", "sn: x", "description: d1")}
	for _, tc := range []struct {
		name string
		ops  []*Op
		at   int // the history's CSN, in seconds
	}{
		{"adds", nil, -1},
		{"tombstone", []*Op{opDel(at(10, 2), p)}, 10},
		{"removed value", []*Op{opMod(at(10, 2), p, modDel("description", "d1"))}, 10},
		{"replaced value", []*Op{opMod(at(10, 2), p, modRepl("description", "d2"))}, 10},
		{"moves", []*Op{opMove(at(10, 2), p, ou, "cn=p", "")}, 10},
	} {
		s := apply(t, append(base, tc.ops...)...)
		if tc.at < 0 {
			if s.purgeable(at(100, 3)) {
				t.Errorf("%s: purgeable", tc.name)
			}
			continue
		}
		if s.purgeable(at(tc.at, 0)) {
			t.Errorf("%s: purgeable below its history", tc.name)
		}
		if !s.purgeable(at(tc.at+1, 0)) {
			t.Errorf("%s: not purgeable above its history", tc.name)
		}
		c := s.Clone()
		c.Purge(at(tc.at+1, 0))
		if c.purgeable(at(tc.at+1, 0)) {
			t.Errorf("%s: still purgeable after Purge", tc.name)
		}
	}
}
