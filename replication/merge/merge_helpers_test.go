package merge

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
)

// testSchema: displayName and uidNumber are single-valued; userPassword
// compares exactly; everything else ignores case.
type testSchema struct{}

func (testSchema) SingleValued(attr string) bool {
	return attr == "displayname" || attr == "uidnumber"
}

func (testSchema) EqualityKey(attr, value string) string {
	if attr == "userpassword" {
		return value
	}
	return strings.ToLower(value)
}

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixMicro()

// at is the CSN of second sec on replica rid.
func at(sec int, rid uint16) change.CSN {
	return change.CSN{Time: epoch + int64(sec)*1_000_000, Replica: rid}
}

// id returns a readable UUID: 00000000-0000-4000-8000-0000000000nn.
func id(n byte) UUID {
	var u UUID
	u[6], u[8], u[15] = 0x40, 0x80, n
	return u
}

var suffix = id(1)

const suffixDN = "dc=example,dc=com"

// av parses "name: value" pairs into attributes.
func av(pairs ...string) []Attribute {
	var out []Attribute
	for _, p := range pairs {
		name, value, _ := strings.Cut(p, ": ")
		i := slices.IndexFunc(out, func(a Attribute) bool { return a.Name == name })
		if i < 0 {
			out = append(out, Attribute{Name: name})
			i = len(out) - 1
		}
		out[i].Values = append(out[i].Values, value)
	}
	return out
}

func opAdd(c change.CSN, u, parent UUID, rdn string, pairs ...string) *Op {
	return &Op{CSN: c, Kind: change.Add, Entry: u, Parent: parent, RDN: rdn, Attrs: av(pairs...)}
}

func opMod(c change.CSN, u UUID, mods ...Mod) *Op {
	return &Op{CSN: c, Kind: change.Modify, Entry: u, Mods: mods}
}

func opDel(c change.CSN, u UUID) *Op { return &Op{CSN: c, Kind: change.Delete, Entry: u} }

func opMove(c change.CSN, u, parent UUID, rdn, oldRDN string) *Op {
	return &Op{CSN: c, Kind: change.ModRDN, Entry: u, Parent: parent, RDN: rdn, OldRDN: oldRDN, DeleteOldRDN: oldRDN != ""}
}

func modAdd(attr string, v ...string) Mod { return Mod{Op: change.ModAdd, Attr: attr, Values: v} }
func modDel(attr string, v ...string) Mod { return Mod{Op: change.ModDelete, Attr: attr, Values: v} }
func modRepl(attr string, v ...string) Mod {
	return Mod{Op: change.ModReplace, Attr: attr, Values: v}
}

// suffixAdd creates the naming context entry every scenario starts from.
func suffixAdd() *Op {
	return opAdd(at(0, 1), suffix, UUID{}, suffixDN, "objectClass: top", "objectClass: domain", "dc: example")
}

// apply applies ops to a new state, failing the test on a refused op.
func apply(t testing.TB, ops ...*Op) *State {
	t.Helper()
	s := NewState(testSchema{})
	for _, o := range ops {
		if err := s.Apply(o); err != nil {
			t.Fatalf("Apply: %v", err)
		}
	}
	return s
}

// show renders the materialised state as LDIF-like text.
func show(s *State) string {
	var b strings.Builder
	for _, e := range s.Materialize() {
		fmt.Fprintf(&b, "dn: %s\n", e.DN)
		for _, a := range e.Attrs {
			for _, v := range a.Values {
				fmt.Fprintf(&b, "%s: %s\n", a.Name, v)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// find returns the visible entry with the UUID, or nil.
func find(entries []Entry, u UUID) *Entry {
	for i := range entries {
		if entries[i].UUID == u {
			return &entries[i]
		}
	}
	return nil
}

func values(e *Entry, attr string) []string {
	if e == nil {
		return nil
	}
	for _, a := range e.Attrs {
		if strings.EqualFold(a.Name, attr) {
			return a.Values
		}
	}
	return nil
}

// permutations calls f with every order of ops (Heap's algorithm).
func permutations(ops []*Op, f func([]*Op)) {
	p := slices.Clone(ops)
	c := make([]int, len(p))
	f(p)
	for i := 0; i < len(p); {
		if c[i] < i {
			if i%2 == 0 {
				p[0], p[i] = p[i], p[0]
			} else {
				p[c[i]], p[i] = p[i], p[c[i]]
			}
			f(p)
			c[i]++
			i = 0
		} else {
			c[i] = 0
			i++
		}
	}
}

// shuffled returns ops in a random order with some duplicated.
func shuffled(r *rand.Rand, ops []*Op) []*Op {
	out := slices.Clone(ops)
	if len(ops) == 0 {
		return out
	}
	for range r.IntN(len(ops)/4 + 2) {
		out = append(out, ops[r.IntN(len(ops))])
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// allOrders asserts that every order of ops (exhaustively up to 7 ops,
// else 2,000 random orders with duplicates) gives the same digest and
// conflicts as the given order, and returns that state.
func allOrders(t *testing.T, ops ...*Op) *State {
	t.Helper()
	ref := apply(t, ops...)
	want, wantC := ref.Digest(), fmt.Sprint(ref.Conflicts())
	check := func(order []*Op) {
		s := apply(t, order...)
		if s.Digest() != want {
			t.Fatalf("order-dependent result:\n%s\nversus\n%s", show(ref), show(s))
		}
		if got := fmt.Sprint(s.Conflicts()); got != wantC {
			t.Fatalf("order-dependent conflicts: %s versus %s", wantC, got)
		}
	}
	if len(ops) <= 7 {
		permutations(ops, check)
	} else {
		r := rand.New(rand.NewPCG(1, 2))
		for range 2000 {
			check(shuffled(r, ops))
		}
	}
	return ref
}

// testSealer returns the server's sealer with a key of 32 bytes key,
// sealing names.
func testSealer(t testing.TB, key byte, names ...string) *directory.Sealer {
	t.Helper()
	s, err := directory.NewSealer(bytes.Repeat([]byte{key}, 32), names)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// heapNow returns the heap in use, in MiB, after a collection.
func heapNow() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}
