package merge

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"testing"
)

// reload returns a State rebuilt from the encoded entry states of s.
func reload(t testing.TB, s *State) *State {
	t.Helper()
	out := NewState(testSchema{})
	out.SetFloor(s.Floor())
	for _, u := range s.Entries() {
		b, ok := s.AppendEntryState(nil, u)
		if !ok {
			t.Fatalf("entry %s listed but not encoded", u)
		}
		if err := out.LoadEntryState(u, b); err != nil {
			t.Fatalf("entry %s: %v", u, err)
		}
		again, _ := out.AppendEntryState(nil, u)
		if !bytes.Equal(again, b) {
			t.Fatalf("entry %s: encoding not stable:\n%x\n%x", u, b, again)
		}
	}
	return out
}

// TestEntryStateRoundTrip: a state rebuilt from its entries' encodings
// materialises the same directory and conflicts, and merges the changes
// still to come exactly as the original does.
func TestEntryStateRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for seed := range 300 {
		data := make([]byte, 40+seed%200)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		ops := fuzzOps(data)
		half := len(ops) / 2
		a := applyAll(NewState(testSchema{}), ops[:half])
		if seed%3 == 0 && half > 0 {
			a.Purge(ops[half/2].CSN)
		}
		b := reload(t, a)
		if a.Digest() != b.Digest() {
			t.Fatalf("seed %d: reloaded state differs:\n%s\nversus\n%s", seed, show(a), show(b))
		}
		applyAll(a, ops[half:])
		applyAll(b, ops[half:])
		if a.Digest() != b.Digest() {
			t.Fatalf("seed %d: after further changes:\n%s\nversus\n%s", seed, show(a), show(b))
		}
	}
}

func TestEntryStateTracksChanges(t *testing.T) {
	s := apply(t, suffixAdd(), opAdd(at(2, 1), id(2), suffix, "cn=a", "cn: a"))
	s.TakeChanged()
	if err := s.Apply(opMod(at(3, 1), id(2), modAdd("description", "x"))); err != nil {
		t.Fatal(err)
	}
	if c := s.TakeChanged(); len(c) != 1 {
		t.Fatalf("changed after one modify: %v", c)
	} else if _, ok := c[id(2)]; !ok {
		t.Fatalf("changed after one modify: %v", c)
	}
	if c := s.TakeChanged(); len(c) != 0 {
		t.Fatalf("changed twice: %v", c)
	}
	s.Apply(opDel(at(4, 1), id(2)))
	s.TakeChanged()
	s.Purge(at(10, 1))
	if _, ok := s.TakeChanged()[id(2)]; !ok {
		t.Fatal("the purged tombstone is not reported as changed")
	}
	if _, ok := s.AppendEntryState(nil, id(2)); ok {
		t.Fatal("the purged tombstone is still encoded")
	}
}

func TestEntryStateRefusesBadInput(t *testing.T) {
	s := apply(t, suffixAdd(), opAdd(at(2, 1), id(2), suffix, "cn=a", "cn: a", "description: x", "description: y"))
	good, _ := s.AppendEntryState(nil, id(2))
	for name, b := range map[string][]byte{
		"empty":     nil,
		"format":    append([]byte{9}, good[1:]...),
		"truncated": good[:len(good)-3],
		"trailing":  append(append([]byte{}, good...), 0),
	} {
		fresh := NewState(testSchema{})
		if err := fresh.LoadEntryState(id(2), b); !errors.Is(err, ErrEntryStateSyntax) {
			t.Errorf("%s: err %v, want ErrEntryStateSyntax", name, err)
		}
		if fresh.Len() != 0 {
			t.Errorf("%s: the refused state was kept", name)
		}
	}
	if err := NewState(testSchema{}).LoadEntryState(UUID{}, good); err == nil {
		t.Error("the root's state was accepted")
	}
}

// FuzzEntryState: LoadEntryState never panics, and whatever it accepts
// encodes again to a form that loads to the same encoding.
func FuzzEntryState(f *testing.F) {
	s := apply(f, suffixAdd(),
		opAdd(at(2, 1), id(2), suffix, "cn=a", "cn: a", "description: x", "description: y"),
		opMove(at(3, 2), id(2), suffix, "cn=b", ""),
		opMod(at(4, 1), id(2), modDel("description", "x"), modRepl("cn", "b")),
		opDel(at(5, 3), id(2)))
	for _, u := range s.Entries() {
		b, _ := s.AppendEntryState(nil, u)
		f.Add(b)
		f.Add(appendEntryStateFormat1(s, nil, u)) // as earlier versions stored it
	}
	f.Add([]byte{EntryStateFormat})
	f.Add([]byte{EntryStateFormat1})
	// Sealed states (format 4): read back with the key below.
	sl := testSealer(f, 1, "description")
	sealed := NewState(testSchema{})
	sealed.SetSealer(sl)
	for _, o := range []*Op{suffixAdd(), opAdd(at(2, 1), id(2), suffix, "cn=a", "cn: a", "description: x", "description: y")} {
		if err := sealed.Apply(o); err != nil {
			f.Fatal(err)
		}
	}
	b, _ := sealed.AppendEntryState(nil, id(2))
	f.Add(b)
	f.Add([]byte{EntryStateSealed})
	f.Fuzz(func(t *testing.T, b []byte) {
		// With the sealing key: what loads re-encodes to a state that
		// loads the same (sealed values differ by their nonces).
		withKey := NewState(testSchema{})
		withKey.SetSealer(sl)
		keyErr := withKey.LoadEntryState(id(2), b)
		if checkErr := withKey.CheckEntryState(b); (checkErr == nil) != (keyErr == nil) {
			t.Fatalf("sealed: CheckEntryState %v, LoadEntryState %v", checkErr, keyErr)
		}
		if keyErr == nil {
			enc, _ := withKey.AppendEntryState(nil, id(2))
			again := NewState(testSchema{})
			again.SetSealer(sl)
			if err := again.LoadEntryState(id(2), enc); err != nil || again.Digest() != withKey.Digest() {
				t.Fatalf("sealed state does not survive re-encoding: %v", err)
			}
		}
		// The placements alone, read as Open reads them, never crash;
		// the attribute stamps read later through the source then load
		// as LoadEntryState would, or fail through Err.
		lazy := NewState(testSchema{})
		lazy.SetSource(memSource{id(2): b}, 1)
		if lazy.LoadEntrySkeleton(id(2), b) == nil {
			lazy.Materialize()
		}
		st := NewState(testSchema{})
		loadErr := st.LoadEntryState(id(2), b)
		if checkErr := st.CheckEntryState(b); (checkErr == nil) != (loadErr == nil) {
			t.Fatalf("CheckEntryState %v, LoadEntryState %v", checkErr, loadErr)
		}
		if loadErr != nil {
			return
		}
		if lazy.Err() != nil {
			t.Fatalf("a state LoadEntryState takes failed to load lazily: %v", lazy.Err())
		}
		if lazy.Digest() != st.Digest() {
			t.Fatal("loaded lazily, the entry materialises differently")
		}
		first, _ := st.AppendEntryState(nil, id(2))
		again := NewState(testSchema{})
		if err := again.LoadEntryState(id(2), first); err != nil {
			t.Fatalf("re-encoded state refused: %v", err)
		}
		second, _ := again.AppendEntryState(nil, id(2))
		if !bytes.Equal(first, second) {
			t.Fatalf("unstable:\n%x\n%x", first, second)
		}
		st.Materialize()
	})
}

// appendEntryStateFormat1 is AppendEntryState as it was before the table
// of CSNs (format 1: every stamp in full), for the tests of reading
// stores and snapshots of earlier versions.
func appendEntryStateFormat1(s *State, b []byte, u UUID) []byte {
	e := s.entries[u]
	s.resident(u, e)
	b = append(b, EntryStateFormat1)
	b = e.added.AppendBinary(b)
	b = e.deleted.AppendBinary(b)
	b = binary.AppendUvarint(b, uint64(len(e.places)))
	for i := range e.places {
		p := &e.places[i]
		b = p.csn.AppendBinary(b)
		b = append(b, p.parent[:]...)
		b = appendString(b, p.rdn)
	}
	b = binary.AppendUvarint(b, uint64(len(e.attrs)))
	for i := range e.attrs {
		a := &e.attrs[i]
		b = appendString(b, a.name)
		b = a.nameCSN.AppendBinary(b)
		b = a.cleared.AppendBinary(b)
		b = binary.AppendUvarint(b, uint64(len(a.values)))
		for j := range a.values {
			v := &a.values[j]
			b = appendString(b, v.value)
			b = v.added.AppendBinary(b)
			b = v.removed.AppendBinary(b)
		}
	}
	return b
}

// TestEntryStateReadsFormat1: states written before the table of CSNs
// (stores and snapshots of earlier versions) load, fully and as
// skeletons, to the same state as today's encoding; today's is the
// smaller by the CSNs it no longer repeats.
func TestEntryStateReadsFormat1(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for seed := range 200 {
		data := make([]byte, 40+seed%200)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		a := applyAll(NewState(testSchema{}), fuzzOps(data))
		old, lazy := NewState(testSchema{}), NewState(testSchema{})
		old.SetFloor(a.Floor())
		src := memSource{}
		lazy.SetSource(src, 1)
		for _, u := range a.Entries() {
			b := appendEntryStateFormat1(a, nil, u)
			if err := old.LoadEntryState(u, b); err != nil {
				t.Fatalf("seed %d: format 1 state of %s: %v", seed, u, err)
			}
			src[u] = b
			if err := lazy.LoadEntrySkeleton(u, b); err != nil {
				t.Fatalf("seed %d: format 1 skeleton of %s: %v", seed, u, err)
			}
			now, _ := a.AppendEntryState(nil, u)
			again, _ := old.AppendEntryState(nil, u)
			if !bytes.Equal(now, again) {
				t.Fatalf("seed %d: entry %s re-encodes from format 1 as\n%x, want\n%x", seed, u, again, now)
			}
		}
		if a.Digest() != old.Digest() || a.Digest() != lazy.Digest() || lazy.Err() != nil {
			t.Fatalf("seed %d: states read from format 1 differ (%v)", seed, lazy.Err())
		}
	}
	// A person as an import seeds it: every stamp the add's.
	s := apply(t, suffixAdd(), opAdd(at(2, 1), id(2), suffix, "cn=ann", "objectClass: person", "objectClass: top", "cn: ann",
		"sn: smith", "description: one", "description: two", "telephoneNumber: +1 555 0100", "mail: ann@example.com"))
	now, _ := s.AppendEntryState(nil, id(2))
	old := appendEntryStateFormat1(s, nil, id(2))
	if len(now)*2 > len(old) {
		t.Errorf("a person's state takes %d bytes, %d in format 1: want under half", len(now), len(old))
	}
}

// TestEntryStateEncodingPinned pins the bytes of format 3: stores and
// snapshots hold them, so a change must be a new format.
func TestEntryStateEncodingPinned(t *testing.T) {
	s := apply(t, suffixAdd(), opAdd(at(2, 1), id(2), suffix, "cn=a", "cn: a", "description: x", "description: y"),
		opMod(at(3, 2), id(2), modDel("description", "x")))
	b, _ := s.AppendEntryState(nil, id(2))
	// format 3, table of 2 CSNs, added (1) deleted (none), one placement
	// (1, the suffix, cn=a), cn (name 1, cleared none, a: 1 none),
	// description (name 2, cleared none, x: 1 2, y: 1 none).
	const want = "03" + "02" + "00064bf535cd94800000000001000000" + "00064bf535dcd6c00000000002000000" + "0100" +
		"01" + "01" + "00000000000040008000000000000001" + "04636e3d61" +
		"02" + "02636e" + "0100" + "01" + "0161" + "0100" +
		"0b6465736372697074696f6e" + "0200" + "02" + "0178" + "0102" + "0179" + "0100"
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("entry state encodes as\n%s, want\n%s", got, want)
	}
}
