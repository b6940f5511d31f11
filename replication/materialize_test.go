package replication

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
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
				s.Purge(CSN{Time: epoch + int64(r.IntN(8)), Replica: 1})
			}
			upd, gone := s.MaterializeChanged(sh, s.TakeChanged())
			for _, u := range gone {
				delete(mirror, u)
			}
			seen := map[UUID]bool{}
			for _, e := range upd {
				if !e.Parent.IsRoot() && !seen[e.Parent] {
					if _, ok := mirror[e.Parent]; !ok {
						t.Fatalf("seed %d round %d: %s returned before its parent", seed, round, e.DN)
					}
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
				t.Fatalf("seed %d round %d: incremental mirror differs\n got %v\nwant %v", seed, round, fmt.Sprint(mirror), fmt.Sprint(want))
			}
			if sh.Digest() != s.Digest() || sh.Len() != len(full) {
				t.Fatalf("seed %d round %d: Shown digest or size differs from the state's", seed, round)
			}
		}
	}
}

func BenchmarkMaterializeChangedOneModify(b *testing.B) {
	s, people := benchState(b)
	sh := NewShown()
	s.MaterializeChanged(sh, s.TakeChanged())
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		o := opMod(CSN{Time: epoch + 1e9 + int64(i), Replica: 2}, people[i%len(people)], modRepl("displayName", fmt.Sprint("renamed", i)))
		if err := s.Apply(o); err != nil {
			b.Fatal(err)
		}
		if upd, _ := s.MaterializeChanged(sh, s.TakeChanged()); len(upd) != 1 {
			b.Fatalf("%d entries rebuilt for one modify", len(upd))
		}
	}
}
