package replication

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/replication/changelog"
	"github.com/switchboard-ldap/switchboard/replication/merge"
	"github.com/switchboard-ldap/switchboard/replication/wire"
)

const (
	sealedSecret  = "secret-7e1f-employee" // a value of a sealed attribute
	sealedControl = "control-visible-3b2a" // a value of a clear one
)

func testSealer(t testing.TB, key byte, names ...string) *directory.Sealer {
	t.Helper()
	s, err := directory.NewSealer(bytes.Repeat([]byte{key}, 32), names)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sealedPull is a pull response as a supplier sealing employeeNumber
// under sl serves it.
func sealedPull(sl *directory.Sealer) *PullResponse {
	c := change.CSN{Time: 1_700_000_000_000_000, Counter: 1, Replica: 2}
	add := Op{CSN: c, Kind: change.Add, Entry: UUID{9}, Parent: UUID{8}, RDN: "uid=v", Attrs: []Attribute{
		{Name: "description", Values: []string{sealedControl}},
		{Name: "employeeNumber", Values: []string{sealedSecret, "second-" + sealedSecret}},
	}}
	mod := Op{CSN: c.WithSub(1), Kind: change.Modify, Entry: UUID{9}, Mods: []Mod{
		{Op: change.ModReplace, Attr: "employeeNumber", Values: []string{"third-" + sealedSecret}},
	}}
	return &PullResponse{Generation: Generation{1}, Supplier: 2, Now: time.UnixMicro(c.Time), Vector: Vector{2: c.WithSub(1)},
		Ops: []Op{*changelog.SealOp(&add, sl), *changelog.SealOp(&mod, sl)}, Sealing: sealingOf(sl)}
}

// Pulled ops carry sealed values sealed; a consumer with the same key
// and attributes opens them, any other refuses the whole batch.
func TestPullSealedRoundTrip(t *testing.T) {
	sl := testSealer(t, 1, "employeeNumber")
	msg := sealedPull(sl).AppendBinary(nil)
	if bytes.Contains(msg, []byte(sealedSecret)) {
		t.Fatal("the pull response holds a sealed value in clear")
	}
	if !bytes.Contains(msg, []byte(sealedControl)) {
		t.Fatal("control: the clear value is not in the response")
	}
	if msg[0] != wire.PullResponseSealed {
		t.Fatalf("version %d, want %d", msg[0], wire.PullResponseSealed)
	}
	decode := func() *PullResponse {
		t.Helper()
		p, err := wire.DecodePullResponse(msg)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := decode()
	if err := openPulled("r2", p, testSealer(t, 1, "employeeNumber")); err != nil {
		t.Fatal(err)
	}
	if a := p.Ops[0].Attrs[1]; a.Name != "employeeNumber" || a.Values[0] != sealedSecret || a.Values[1] != "second-"+sealedSecret {
		t.Fatalf("opened add: %q %q", a.Name, a.Values)
	}
	if m := p.Ops[1].Mods[0]; m.Attr != "employeeNumber" || m.Values[0] != "third-"+sealedSecret {
		t.Fatalf("opened modify: %q %q", m.Attr, m.Values)
	}

	for _, tc := range []struct {
		name string
		mine *directory.Sealer
		want string
	}{
		{"no key", nil, "no encryption key"},
		{"another key", testSealer(t, 2, "employeeNumber"), "under key"},
		{"other attributes", testSealer(t, 1, "employeeNumber", "homePhone"), "same encryption.attributes"},
		{"key only", testSealer(t, 1), "same encryption.attributes"},
	} {
		p := decode()
		err := openPulled("r2", p, tc.mine)
		if !errors.Is(err, ErrSealing) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "peer r2") {
			t.Errorf("%s: %v, want ErrSealing saying %q", tc.name, err, tc.want)
		}
	}

	// A supplier that no longer seals the attribute (taken off its list)
	// may still serve values sealed in its log: the key decides.
	unlisted := sealedPull(sl)
	unlisted.Sealing = Sealing{}
	msg2 := unlisted.AppendBinary(nil)
	if msg2[0] != wire.PullResponseVersion {
		t.Fatalf("a supplier sealing nothing writes version %d", msg2[0])
	}
	p2, err := wire.DecodePullResponse(msg2)
	if err != nil {
		t.Fatal(err)
	}
	if err := openPulled("r2", p2, testSealer(t, 2)); !errors.Is(err, ErrSealing) || !errors.Is(err, directory.ErrSealed) {
		t.Errorf("sealed values under another key: %v", err)
	}
	p2, _ = wire.DecodePullResponse(msg2)
	if err := openPulled("r2", p2, nil); !errors.Is(err, ErrSealing) {
		t.Errorf("sealed values without a key: %v", err)
	}
	p2, _ = wire.DecodePullResponse(msg2)
	if err := openPulled("r2", p2, testSealer(t, 1)); err != nil || p2.Ops[0].Attrs[1].Values[0] != sealedSecret {
		t.Errorf("sealed values, same key: %v", err)
	}
}

// An entry state holds the values of sealed attributes sealed; it loads
// with the same key only.
func TestEntryStateSealed(t *testing.T) {
	sl := testSealer(t, 1, "employeeNumber")
	s := merge.NewState(nil)
	s.SetSealer(sl)
	apply := func(st *State, ops ...*Op) {
		for _, o := range ops {
			if err := st.Apply(o); err != nil {
				t.Fatal(err)
			}
		}
	}
	u := id(2)
	apply(s, suffixAdd(), opAdd(at(2, 1), u, id(1), "cn=v", "cn: v", "description: "+sealedControl,
		"employeeNumber: "+sealedSecret), opMod(at(3, 1), u, modAdd("employeeNumber", "b-"+sealedSecret)))
	b, ok := s.AppendEntryState(nil, u)
	if !ok {
		t.Fatal("no state")
	}
	if b[0] != merge.EntryStateSealed || bytes.Contains(b, []byte(sealedSecret)) || !bytes.Contains(b, []byte(sealedControl)) {
		t.Fatalf("format %d; sealed value in clear: %v; control present: %v", b[0], bytes.Contains(b, []byte(sealedSecret)), bytes.Contains(b, []byte(sealedControl)))
	}
	if plain, _ := s.AppendEntryState(nil, id(1)); plain[0] != merge.EntryStateFormat {
		t.Fatalf("an entry without sealed values: format %d", plain[0])
	}

	same := merge.NewState(nil)
	same.SetSealer(testSealer(t, 1, "employeeNumber"))
	apply(same, suffixAdd())
	if err := same.LoadEntryState(u, b); err != nil {
		t.Fatal(err)
	}
	if got, want := show(same), show(s); got != want {
		t.Fatalf("loaded state differs:\n%s\nwant\n%s", got, want)
	}
	// Sealed again on the way out, and opened again.
	b2, _ := same.AppendEntryState(nil, u)
	if bytes.Contains(b2, []byte(sealedSecret)) || same.CheckEntryState(b2) != nil {
		t.Fatal("re-encoded state")
	}

	for name, sl := range map[string]*directory.Sealer{"no key": nil, "another key": testSealer(t, 2, "employeeNumber")} {
		other := merge.NewState(nil)
		other.SetSealer(sl)
		if err := other.CheckEntryState(b); !errors.Is(err, directory.ErrSealed) {
			t.Errorf("%s: CheckEntryState %v, want ErrSealed", name, err)
		}
		if err := other.LoadEntryState(u, b); err == nil || other.Len() != 0 {
			t.Errorf("%s: LoadEntryState took it (%v)", name, err)
		}
	}
}

// Replicas exchange sealed values over real sockets: the same key and
// attributes open them (pulls and snapshots), and neither the wire nor
// the consumer's change log and entry states hold them in clear; a
// replica with another key or none refuses, and applies nothing.
func TestReplicasShareSealedAttributes(t *testing.T) {
	keyed := func(key byte) func(*directory.Options) {
		return func(o *directory.Options) {
			if key != 0 {
				o.EncryptionKey = bytes.Repeat([]byte{key}, 32)
				o.SealedAttributes = []string{"employeeNumber"}
			}
		}
	}
	a := startReplicaOpts(t, 1, "", nil, keyed(1))
	a.seedPeople(2)
	a.mustAdd("uid=v,ou=people,dc=example,dc=com", "objectClass", "inetOrgPerson", "uid", "v", "cn", "v", "sn", "v",
		"description", sealedControl, "employeeNumber", sealedSecret)
	a.settle()

	// What a pull carries.
	resp, err := a.rep.Pull(&PullRequest{Consumer: 2, MaxOps: 1000})
	if err != nil {
		t.Fatal(err)
	}
	wire := resp.AppendBinary(nil)
	if bytes.Contains(wire, []byte(sealedSecret)) || !bytes.Contains(wire, []byte(sealedControl)) {
		t.Fatalf("pull response: sealed value in clear %v, control present %v",
			bytes.Contains(wire, []byte(sealedSecret)), bytes.Contains(wire, []byte(sealedControl)))
	}

	ctx := context.Background()
	read := func(tr *testReplica) string {
		t.Helper()
		en, err := tr.eng.Get(ctx, "uid=v,ou=people,dc=example,dc=com")
		if err != nil {
			t.Fatal(err)
		}
		return en.First("employeeNumber")
	}
	sideRecordsHold := func(tr *testReplica, v string) bool {
		found := false
		err := tr.eng.View(func(vw *directory.View) error {
			return vw.Records([]byte{directory.PrefixReplication}, nil, false, func(_, val []byte) (bool, error) {
				found = found || bytes.Contains(val, []byte(v))
				return true, nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return found
	}

	b := startReplicaOpts(t, 2, "", nil, keyed(1))
	if _, err := b.rep.CatchUp(ctx, a.peer()); err != nil {
		t.Fatal(err)
	}
	if got := read(b); got != sealedSecret {
		t.Fatalf("pulled: employeeNumber %q", got)
	}
	if sideRecordsHold(b, sealedSecret) || !sideRecordsHold(b, sealedControl) {
		t.Fatalf("consumer's log and states: sealed value in clear %v, control present %v",
			sideRecordsHold(b, sealedSecret), sideRecordsHold(b, sealedControl))
	}

	for _, tc := range []struct {
		name string
		key  byte
		want string
	}{
		{"another key", 3, "same encryption key"},
		{"no key", 0, "no encryption key"},
	} {
		c := startReplicaOpts(t, 3, "", nil, keyed(tc.key))
		_, err := c.rep.CatchUp(ctx, a.peer())
		if !errors.Is(err, ErrSealing) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: pull: %v, want ErrSealing saying %q", tc.name, err, tc.want)
		}
		if gen, vec := c.rep.Position(); !gen.IsZero() || len(vec) != 0 || c.eng.EntryCount() != 0 {
			t.Errorf("%s: a refused pull applied something: generation %s, vector %v, %d entries", tc.name, gen, vec, c.eng.EntryCount())
		}
		err = c.rep.Reinitialise(ctx, a.peer())
		if !errors.Is(err, ErrSealing) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: snapshot: %v, want ErrSealing saying %q", tc.name, err, tc.want)
		}
		if c.eng.EntryCount() != 0 {
			t.Errorf("%s: a refused snapshot left %d entries", tc.name, c.eng.EntryCount())
		}
		c.close()
	}

	// A snapshot carries sealed values sealed, and the same key opens it.
	d := startReplicaOpts(t, 4, "", nil, keyed(1))
	if err := d.rep.Reinitialise(ctx, a.peer()); err != nil {
		t.Fatal(err)
	}
	if got := read(d); got != sealedSecret {
		t.Fatalf("reinitialised: employeeNumber %q", got)
	}
	if sideRecordsHold(d, sealedSecret) || !sideRecordsHold(d, sealedControl) {
		t.Fatal("reinitialised replica's states hold the sealed value in clear (or the control is missing)")
	}
	a.rep.smu.RLock()
	snapState, _ := a.rep.state.AppendEntryState(nil, a.uuidOf(t, "uid=v,ou=people,dc=example,dc=com"))
	a.rep.smu.RUnlock()
	if len(snapState) == 0 || bytes.Contains(snapState, []byte(sealedSecret)) {
		t.Fatal("the supplier's entry state (what a snapshot sends) holds the sealed value in clear")
	}
}

// uuidOf returns the entryUUID of the entry at dn.
func (tr *testReplica) uuidOf(t testing.TB, dn string) UUID {
	t.Helper()
	en, err := tr.eng.Get(context.Background(), dn)
	if err != nil {
		t.Fatal(err)
	}
	u, err := merge.ParseUUID(en.First("entryUUID"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// BenchmarkEntryStateSealed encodes and decodes the state of a person
// with 12 attributes, none sealed (clear), or 2 of them sealed under a
// sealer (sealed), or none sealed under a sealer (unsealed).
func BenchmarkEntryStateSealed(b *testing.B) {
	person := opAdd(at(2, 1), id(2), id(1), "cn=p", "cn: p", "sn: person", "givenName: Pat", "mail: p@example.com",
		"telephoneNumber: +1 555 0100", "title: engineer", "description: a person", "l: Springfield", "st: IL",
		"postalCode: 62701", "employeeNumber: E-12345", "homePhone: +1 555 0199")
	for _, tc := range []struct {
		name string
		sl   *directory.Sealer
	}{
		{"clear", nil},
		{"unsealed", testSealer(b, 1)},
		{"sealed", testSealer(b, 1, "employeeNumber", "homePhone")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := merge.NewState(nil)
			s.SetSealer(tc.sl)
			for _, o := range []*Op{suffixAdd(), person} {
				if err := s.Apply(o); err != nil {
					b.Fatal(err)
				}
			}
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				buf, _ = s.AppendEntryState(buf[:0], id(2))
				if err := s.CheckEntryState(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
