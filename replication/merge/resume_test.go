package merge

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
)

// TestResumeShownMatchesFull: a store kept by rounds of
// MaterializeChanged is "restarted" at random points, some changes
// applied but never materialised (a crash before the round that would
// have written them); a Shown resumed from the store, with those changes
// and ResumeShown's list rebuilt, brings the store to the full
// Materialize, its digest to the state's, and later incremental rounds
// from it stay equal to the full Materialize. With and without the
// reference rule.
func TestResumeShownMatchesFull(t *testing.T) {
	for _, withRefs := range []bool{false, true} {
		r := rand.New(rand.NewPCG(7, 13))
		resumed, kept := 0, 0
		for seed := range 200 {
			data := make([]byte, 60+seed*2)
			for i := range data {
				data[i] = byte(r.Uint32())
			}
			var schema Schema = testSchema{}
			ops := fuzzOps(data)
			if withRefs {
				schema, ops = refSchema{}, refOps(data)
			}
			s := NewState(schema)
			sh := NewShown()
			mirror := map[UUID]Entry{}
			for round := 0; len(ops) > 0; round++ {
				n := min(len(ops), 1+r.IntN(6))
				applyAll(s, ops[:n])
				ops = ops[n:]
				if round%7 == 6 {
					s.Purge(change.CSN{Time: epoch + int64(r.IntN(8)), Replica: 1})
				}
				name := fmt.Sprintf("refs %v seed %d round %d", withRefs, seed, round)
				if r.IntN(3) > 0 {
					checkRound(t, s, sh, mirror, name)
					continue
				}
				// Restart: the store holds mirror; what changed since the
				// last round is the pending set.
				stored := map[UUID]StoredEntry{}
				for u, e := range mirror {
					st := StoredEntry{DN: e.DN, Fingerprint: fingerprint(&e), Glue: e.Glue}
					for _, a := range e.Attrs {
						st.References = st.References || s.IsReferenceAttr(a.Name)
					}
					stored[u] = st
				}
				var rebuild map[UUID]struct{}
				sh, rebuild = s.ResumeShown(stored)
				resumed++
				kept += sh.Len()
				changed := s.TakeChanged()
				if changed == nil {
					changed = map[UUID]struct{}{}
				}
				maps.Copy(changed, rebuild)
				upd, gone := s.MaterializeChanged(sh, changed)
				for _, u := range gone {
					delete(mirror, u)
				}
				for _, e := range upd {
					mirror[e.UUID] = e
				}
				checkRound(t, s, sh, mirror, name+" (resumed)")
			}
		}
		if resumed == 0 || kept == 0 {
			t.Fatalf("refs %v: %d resumes kept %d entries: the test did not exercise ResumeShown", withRefs, resumed, kept)
		}
	}
}
