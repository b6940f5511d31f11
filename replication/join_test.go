package replication

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestJoinedRules: an empty replica with peers takes a local write only
// once it has a generation, or when every peer answered recently that
// it has none and its own replica ID is the lowest.
func TestJoinedRules(t *testing.T) {
	now := time.Now()
	type peer struct {
		answered time.Duration // ago; 0: never
		gen      bool
		id       uint16
	}
	for _, tc := range []struct {
		name  string
		self  uint16
		gen   bool
		peers []peer
		want  string // "" joined, else a part of why not
	}{
		{"has a generation", 2, true, []peer{{}}, ""},
		{"no peers founds", 2, false, nil, ""},
		{"peer never answered", 1, false, []peer{{id: 2}}, "has not answered"},
		{"answer too old", 1, false, []peer{{answered: time.Minute, id: 2}}, "has not answered"},
		{"peer has data", 1, false, []peer{{answered: time.Second, gen: true, id: 2}}, "has data"},
		{"all empty, lowest", 1, false, []peer{{answered: time.Second, id: 2}, {answered: time.Second, id: 3}}, ""},
		{"all empty, not lowest", 2, false, []peer{{answered: time.Second, id: 1}, {answered: time.Second, id: 3}}, "lowest replica ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clog, err := New(Config{Replica: tc.self})
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewReplicator(MultiConfig{Changelog: clog})
			if err != nil {
				t.Fatal(err)
			}
			if tc.gen {
				r.generation = newGeneration()
			}
			for i, pc := range tc.peers {
				p, err := r.AddPeer(PeerConfig{Name: fmt.Sprintf("p%d", i), URL: "ldap://127.0.0.1:1"})
				if err != nil {
					t.Fatal(err)
				}
				if pc.answered > 0 {
					p.lastPull = now.Add(-pc.answered)
				}
				if pc.gen {
					p.supplierGen = newGeneration()
				}
				p.supplierID = pc.id
			}
			ok, why := r.joined(now)
			if ok != (tc.want == "") || !strings.Contains(why, tc.want) {
				t.Errorf("joined = %v %q, want %q", ok, why, tc.want)
			}
		})
	}
}
