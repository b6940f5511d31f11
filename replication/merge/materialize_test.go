package merge

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
)

// TestMaterializeChangedMatchesFull: a mirror kept up to date only with
// what MaterializeChanged returns, round after round of random changes
// (purges included), always equals the full Materialize, and the Shown
// digest equals State.Digest.
func TestMaterializeChangedMatchesFull(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	for seed := range 200 {
		data := make([]byte, 60+seed*2)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		ops := fuzzOps(data)
		s := NewState(testSchema{})
		sh := NewShown()
		mirror := map[UUID]Entry{}
		for round := 0; len(ops) > 0; round++ {
			n := min(len(ops), 1+r.IntN(8))
			applyAll(s, ops[:n])
			ops = ops[n:]
			if round%5 == 4 {
				s.Purge(change.CSN{Time: epoch + int64(r.IntN(8)), Replica: 1})
			}
			checkRound(t, s, sh, mirror, fmt.Sprintf("seed %d round %d", seed, round))
		}
	}
}

// checkRound brings mirror up to date with one MaterializeChanged of s
// and checks it then equals the full Materialize, parents listed before
// children, with the Shown digest and size equal to the state's.
func checkRound(t *testing.T, s *State, sh *Shown, mirror map[UUID]Entry, round string) {
	t.Helper()
	upd, gone := s.MaterializeChanged(sh, s.TakeChanged())
	for _, u := range gone {
		delete(mirror, u)
	}
	seen := map[UUID]bool{}
	for _, e := range upd {
		if _, ok := mirror[e.Parent]; !e.Parent.IsRoot() && !seen[e.Parent] && !ok {
			t.Fatalf("%s: %s returned before its parent", round, e.DN)
		}
		seen[e.UUID] = true
		mirror[e.UUID] = e
	}
	full := s.Materialize()
	want := map[UUID]Entry{}
	for _, e := range full {
		want[e.UUID] = e
	}
	if !reflect.DeepEqual(mirror, want) {
		t.Fatalf("%s: incremental mirror differs\n got %v\nwant %v", round, fmt.Sprint(mirror), fmt.Sprint(want))
	}
	if sh.Digest() != s.Digest() || sh.Len() != len(full) {
		t.Fatalf("%s: Shown digest or size differs from the state's", round)
	}
}

func BenchmarkMaterializeChangedOneModify(b *testing.B) {
	s, people := benchState(b)
	sh := NewShown()
	s.MaterializeChanged(sh, s.TakeChanged())
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		o := opMod(change.CSN{Time: epoch + 1e9 + int64(i), Replica: 2}, people[i%len(people)], modRepl("displayName", fmt.Sprint("renamed", i)))
		if err := s.Apply(o); err != nil {
			b.Fatal(err)
		}
		if upd, _ := s.MaterializeChanged(sh, s.TakeChanged()); len(upd) != 1 {
			b.Fatalf("%d entries rebuilt for one modify", len(upd))
		}
	}
}

// TestMaterializeChangedTreeChurn: rounds of adds under random entries
// (with colliding names), deletes, moves and modifies over a growing
// tree, the kind of traffic a directory sees: the incrementally kept
// mirror always equals the full Materialize.
func TestMaterializeChangedTreeChurn(t *testing.T) {
	for seed := range 20 {
		r := rand.New(rand.NewPCG(uint64(seed), 42))
		s := apply(t, suffixAdd())
		sh := NewShown()
		mirror := map[UUID]Entry{}
		known := []UUID{suffix}
		tick := 0
		next := func() change.CSN {
			tick++
			return change.CSN{Time: epoch + int64(tick), Replica: uint16(1 + r.IntN(3))}
		}
		for round := range 60 {
			for range 1 + r.IntN(6) {
				pick := known[r.IntN(len(known))]
				switch k := r.IntN(10); {
				case k < 5:
					u := UUID{9, byte(seed), byte(len(known) >> 8), byte(len(known))}
					known = append(known, u)
					_ = s.Apply(opAdd(next(), u, pick, fmt.Sprintf("cn=n%d", r.IntN(12)), "objectClass: person", "cn: x"))
				case k < 7:
					_ = s.Apply(opDel(next(), pick))
				case k < 8:
					_ = s.Apply(opMove(next(), pick, known[r.IntN(len(known))], fmt.Sprintf("cn=m%d", r.IntN(4)), ""))
				default:
					_ = s.Apply(opMod(next(), pick, modAdd("description", fmt.Sprint(round))))
				}
			}
			checkRound(t, s, sh, mirror, fmt.Sprintf("seed %d round %d", seed, round))
		}
	}
}

func BenchmarkMaterializeChangedAddDelete(b *testing.B) {
	s, _ := benchState(b)
	sh := NewShown()
	s.MaterializeChanged(sh, s.TakeChanged())
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		u := UUID{7, byte(i >> 16), byte(i >> 8), byte(i)}
		if err := s.Apply(opAdd(change.CSN{Time: epoch + 1e9 + int64(2*i), Replica: 2}, u, suffix, fmt.Sprintf("cn=new%d", i), "objectClass: person", "cn: new")); err != nil {
			b.Fatal(err)
		}
		if upd, _ := s.MaterializeChanged(sh, s.TakeChanged()); len(upd) != 1 {
			b.Fatalf("%d entries rebuilt for one add", len(upd))
		}
		if err := s.Apply(opDel(change.CSN{Time: epoch + 1e9 + int64(2*i+1), Replica: 2}, u)); err != nil {
			b.Fatal(err)
		}
		if _, gone := s.MaterializeChanged(sh, s.TakeChanged()); len(gone) != 1 {
			b.Fatalf("%d entries gone for one delete", len(gone))
		}
	}
}
