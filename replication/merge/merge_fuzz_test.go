package merge

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
)

// fuzzOps decodes bytes into changes drawn from small pools, so that
// they collide: few entries, few names, few CSNs (often equal ones), and
// changes no origin would send (moves below oneself, adds under unknown
// parents, modifies of unknown entries).
func fuzzOps(data []byte) []*Op {
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	rdns := []string{"cn=a", "cn=b", "cn=A", "ou=a+cn=b", "dc=x,dc=y", "cn=a\\,b"}
	attrs := []string{"description", "displayName", "cn", "DESCRIPTION", "userPassword"}
	vals := []string{"a", "A", "b", "n"}
	entity := func(b byte) UUID {
		if b%9 == 0 {
			return UUID{}
		}
		return id(b % 9)
	}
	var ops []*Op
	for len(data) > 0 && len(ops) < 64 {
		h := next()
		o := &Op{
			Kind:  change.Kind(h%4 + 1),
			Entry: id(next()%8 + 1),
			CSN:   change.CSN{Time: epoch + int64(next()%16), Replica: uint16(h>>2%3 + 1), Sub: uint32(h >> 6)},
		}
		switch o.Kind {
		case change.Add, change.ModRDN:
			o.Parent = entity(next())
			o.RDN = rdns[int(next())%len(rdns)]
			o.OldRDN = rdns[int(next())%len(rdns)]
			o.DeleteOldRDN = h&0x20 != 0
		}
		if o.Kind == change.Add || o.Kind == change.Modify {
			for range next() % 4 {
				k := next()
				name := attrs[int(k)%len(attrs)]
				var vs []string
				for range k >> 5 % 3 {
					vs = append(vs, vals[int(next())%len(vals)])
				}
				o.Attrs = append(o.Attrs, Attribute{Name: name, Values: vs})
				o.Mods = append(o.Mods, Mod{Op: change.ModOp(k >> 3 % 3), Attr: name, Values: vs})
			}
			if o.Kind == change.Add {
				o.Mods = nil
			} else {
				o.Attrs = nil
			}
		}
		ops = append(ops, o)
	}
	return ops
}

func applyAll(s *State, ops []*Op) *State {
	for _, o := range ops {
		_ = s.Apply(o) // malformed changes are refused the same way in every order
	}
	return s
}

// FuzzMergeCommutes: any sequence of changes, applied in its order, in
// reverse, and shuffled with duplicates, gives the same directory and
// conflicts; the result is a well-formed tree; purging below every CSN
// changes nothing visible.
func FuzzMergeCommutes(f *testing.F) {
	f.Add([]byte{0x00, 0, 0, 0, 1, 0x01, 1, 2, 1, 2, 0x22, 3, 0x21, 0, 4})
	f.Add([]byte{0x00, 1, 1, 1, 0, 0x00, 2, 2, 1, 0, 0x03, 1, 3, 2, 1, 0x07, 2, 4, 1, 1})
	f.Add([]byte("add modify delete modrdn and some more bytes to decode into changes"))
	f.Add(slices.Repeat([]byte{0x03, 1, 5, 2, 1, 1, 0x02, 1, 6, 1, 0x61}, 6))
	f.Fuzz(func(t *testing.T, data []byte) {
		ops := fuzzOps(data)
		a := applyAll(NewState(testSchema{}), ops)
		want, wantC := a.Digest(), fmt.Sprint(a.Conflicts())

		rev := slices.Clone(ops)
		slices.Reverse(rev)
		r := rand.New(rand.NewPCG(uint64(len(data)), 1))
		for _, order := range [][]*Op{rev, shuffled(r, ops)} {
			b := applyAll(NewState(testSchema{}), order)
			if b.Digest() != want || fmt.Sprint(b.Conflicts()) != wantC {
				t.Fatalf("order-dependent:\n%s\nversus\n%s\n%s\nversus\n%s", show(a), show(b), wantC, fmt.Sprint(b.Conflicts()))
			}
		}

		es := a.Materialize()
		dns := map[UUID]string{}
		for _, e := range es {
			if !e.Parent.IsRoot() {
				p, ok := dns[e.Parent]
				if !ok {
					t.Fatalf("%s listed before its parent or without one", e.DN)
				}
				if len(e.DN) <= len(p) || e.DN[len(e.DN)-len(p):] != p {
					t.Fatalf("%s is not below its parent %s", e.DN, p)
				}
			}
			dns[e.UUID] = e.DN
		}

		var top change.CSN
		for _, o := range ops {
			if last := o.CSN.WithSub(change.MaxSub); top.Less(last) {
				top = last
			}
		}
		top.Time++
		a.Purge(top)
		if a.Digest() != want {
			t.Fatalf("Purge changed the directory")
		}
		if applyAll(a, ops).Digest() != want {
			t.Fatalf("replay after Purge changed the directory")
		}
	})
}
