package merge

import (
	"bytes"
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
	}
	f.Add([]byte{EntryStateFormat})
	// Sealed states (format 2): read back with the key below.
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
