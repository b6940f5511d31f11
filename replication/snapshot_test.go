package replication

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/frontend"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/replication/changelog"
	"github.com/switchboard-ldap/switchboard/replication/merge"
	"github.com/switchboard-ldap/switchboard/replication/wire"
	"github.com/switchboard-ldap/switchboard/schema"
)

const (
	snapRootDN = "cn=admin,dc=example,dc=com"
	snapRootPW = "secret"
)

// A testReplica is a multi-supplier replica served on a real socket:
// engine, changelog, Replicator, frontend and LDAP server.
type testReplica struct {
	t    testing.TB
	id   uint16
	dir  string
	eng  *directory.Engine
	clog *Changelog
	rep  *Replicator
	srv  *ldap.Server
	url  string
}

// startReplica opens (or reopens) the replica stored in dir and serves
// it. An empty dir means a fresh temporary one.
func startReplica(t testing.TB, id uint16, dir string) *testReplica {
	t.Helper()
	return startReplicaWith(t, id, dir, nil)
}

// startReplicaWith is startReplica with a change to the Replicator's
// configuration.
func startReplicaWith(t testing.TB, id uint16, dir string, set func(*MultiConfig)) *testReplica {
	t.Helper()
	return startReplicaOpts(t, id, dir, set, nil)
}

// startReplicaOpts is startReplicaWith with a change to the engine's
// options too.
func startReplicaOpts(t testing.TB, id uint16, dir string, set func(*MultiConfig), setOpt func(*directory.Options)) *testReplica {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	clog, err := New(Config{Replica: id, MaxSkew: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	mc := MultiConfig{Changelog: clog, Settle: 5 * time.Millisecond}
	if set != nil {
		set(&mc)
	}
	rep, err := NewReplicator(mc)
	if err != nil {
		t.Fatal(err)
	}
	opt := directory.Options{Dir: dir, NoSync: true, Suffix: "dc=example,dc=com", Schema: s,
		Migrations: append(directory.Migrations(), Migrations()...),
		Hooks:      []directory.WriteHook{rep, clog}, Stamper: rep}
	if setOpt != nil {
		setOpt(&opt)
	}
	eng, err := directory.Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := clog.Open(eng); err != nil {
		t.Fatal(err)
	}
	if err := rep.Open(eng); err != nil {
		t.Fatal(err)
	}
	fe, err := frontend.New(frontend.Config{Engine: eng, RootDN: snapRootDN, RootPassword: []byte(snapRootPW)})
	if err != nil {
		t.Fatal(err)
	}
	sup := &Supplier{R: rep, Authorize: func(s *ldap.Session) bool { return s.Authenticated() }}
	fe.RegisterExtended(OIDPull, sup.ServeExtended)
	fe.RegisterExtended(OIDSnapshot, sup.ServeSnapshot)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := &testReplica{t: t, id: id, dir: dir, eng: eng, clog: clog, rep: rep, srv: &ldap.Server{Handler: fe}, url: "ldap://" + ln.Addr().String()}
	go tr.srv.Serve(ln)
	t.Cleanup(tr.close)
	return tr
}

func (tr *testReplica) close() {
	if tr.eng == nil {
		return
	}
	tr.srv.Close()
	tr.eng.Close()
	tr.eng = nil
}

func (tr *testReplica) peer() PeerConfig {
	return PeerConfig{Name: fmt.Sprintf("r%d", tr.id), URL: tr.url, BindDN: snapRootDN, Password: snapRootPW}
}

func (tr *testReplica) add(dn string, attrs ...string) error {
	var as []directory.Attr
	if rdn := strings.SplitN(strings.SplitN(dn, ",", 2)[0], "=", 2); rdn[0] == "cn" {
		attrs = append(attrs, "cn", rdn[1])
	}
	for i := 0; i+1 < len(attrs); i += 2 {
		as = append(as, directory.Attr{Name: attrs[i], Values: [][]byte{[]byte(attrs[i+1])}})
	}
	_, err := tr.eng.Add(context.Background(), dn, as, directory.WriteOptions{})
	return err
}

func (tr *testReplica) mustAdd(dn string, attrs ...string) {
	tr.t.Helper()
	if err := tr.add(dn, attrs...); err != nil {
		tr.t.Fatalf("add %s: %v", dn, err)
	}
}

// seedPeople adds the suffix, ou=people and n people.
func (tr *testReplica) seedPeople(n int) {
	tr.t.Helper()
	tr.mustAdd("dc=example,dc=com", "objectClass", "dcObject", "objectClass", "organization", "dc", "example", "o", "Example")
	tr.mustAdd("ou=people,dc=example,dc=com", "objectClass", "organizationalUnit", "ou", "people")
	for i := range n {
		tr.mustAdd(fmt.Sprintf("cn=p%d,ou=people,dc=example,dc=com", i), "objectClass", "person", "sn", "x", "description", fmt.Sprint("person ", i))
	}
}

// settle writes the resolved entries and checks that the store holds
// what the state resolves to; it returns the state's digest.
func (tr *testReplica) settle() [32]byte {
	tr.t.Helper()
	if err := tr.rep.resolve(context.Background()); err != nil {
		tr.t.Fatal(err)
	}
	tr.rep.smu.Lock() // materialising reads evicted entries into the cache
	d := tr.rep.state.Digest()
	tr.rep.smu.Unlock()
	sd, err := tr.rep.StoreDigest()
	if err != nil {
		tr.t.Fatal(err)
	}
	if sd != d {
		tr.t.Fatalf("replica %d: the store's digest %x differs from the state's %x", tr.id, sd[:6], d[:6])
	}
	return d
}

func sampleSnapshot() (*SnapshotRequest, *SnapshotResponse) {
	c := change.CSN{Time: 1_700_000_000_000_000, Counter: 3, Replica: 2}
	s := merge.NewState(nil)
	s.Apply(&Op{CSN: c, Kind: change.Add, Entry: UUID{9}, RDN: "dc=example,dc=com", Attrs: []Attribute{{Name: "dc", Values: []string{"example"}}}})
	s.Apply(&Op{CSN: c.WithSub(1), Kind: change.Add, Entry: UUID{10}, Parent: UUID{9}, RDN: "cn=a", Attrs: []Attribute{{Name: "cn", Values: []string{"a"}}}})
	e1, _ := s.AppendEntryState(nil, UUID{9})
	e2, _ := s.AppendEntryState(nil, UUID{10})
	q := &SnapshotRequest{Consumer: 7, ID: SnapshotID{4, 5}, After: UUID{8}, MaxBytes: 4096}
	p := &SnapshotResponse{Status: SnapshotOK, ID: SnapshotID{4, 5}, Generation: Generation{1, 2, 3}, Supplier: 2, Done: true,
		Floor: c, Vector: Vector{2: c.WithSub(1)}, Total: 2, Entries: []SnapshotEntry{{UUID: UUID{9}, State: e1}, {UUID: UUID{10}, State: e2}}}
	return q, p
}

func TestSnapshotWireRoundTrip(t *testing.T) {
	q, p := sampleSnapshot()
	q2, err := wire.DecodeSnapshotRequest(q.AppendBinary(nil))
	if err != nil || *q2 != *q {
		t.Fatalf("request round trip: %+v %v", q2, err)
	}
	enc := p.AppendBinary(nil)
	p2, err := wire.DecodeSnapshotResponse(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p2.AppendBinary(nil), enc) || len(p2.Entries) != 2 || !p2.Done || p2.Floor != p.Floor {
		t.Fatalf("response round trip: %+v", p2)
	}
	for i := range enc {
		if _, err := wire.DecodeSnapshotResponse(enc[:i]); err == nil {
			t.Fatalf("response truncated at %d: no error", i)
		}
	}
	qb := q.AppendBinary(nil)
	for i := range qb {
		if _, err := wire.DecodeSnapshotRequest(qb[:i]); err == nil {
			t.Fatalf("request truncated at %d: no error", i)
		}
	}
	// Entries out of order are refused.
	p.Entries[0], p.Entries[1] = p.Entries[1], p.Entries[0]
	if _, err := wire.DecodeSnapshotResponse(p.AppendBinary(nil)); !errors.Is(err, wire.ErrWire) {
		t.Fatalf("entries out of order: %v", err)
	}
}

func FuzzDecodeSnapshot(f *testing.F) {
	q, p := sampleSnapshot()
	f.Add(q.AppendBinary(nil))
	f.Add(p.AppendBinary(nil))
	gone := &SnapshotResponse{Status: SnapshotGone, Reason: "expired"}
	f.Add(gone.AppendBinary(nil))
	f.Add([]byte{1, 0})
	sl := testSealer(f, 1, "description")
	sealed := merge.NewState(testSchema{})
	sealed.SetSealer(sl)
	for _, o := range []*Op{suffixAdd(), opAdd(at(2, 1), id(2), suffix, "cn=a", "cn: a", "description: x")} {
		if err := sealed.Apply(o); err != nil {
			f.Fatal(err)
		}
	}
	st, _ := sealed.AppendEntryState(nil, id(2))
	f.Add((&SnapshotResponse{ID: SnapshotID{1}, Generation: Generation{2}, Supplier: 3, Done: true, Vector: Vector{1: at(2, 1)}, Total: 1,
		Entries: []SnapshotEntry{{UUID: id(2), State: st}}, Sealing: sealingOf(sl)}).AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		if q, err := wire.DecodeSnapshotRequest(b); err == nil {
			enc := q.AppendBinary(nil)
			if q2, err := wire.DecodeSnapshotRequest(enc); err != nil || *q2 != *q {
				t.Fatalf("a decoded request does not round-trip: %v", err)
			}
		}
		p, err := wire.DecodeSnapshotResponse(b)
		if err != nil {
			return
		}
		enc := p.AppendBinary(nil)
		p2, err := wire.DecodeSnapshotResponse(enc)
		if err != nil || !bytes.Equal(p2.AppendBinary(nil), enc) {
			t.Fatalf("a decoded response does not round-trip: %v", err)
		}
		// What a consumer does with it: load every entry, refusing
		// (never panicking on) a malformed state.
		s := merge.NewState(nil)
		s.SetSealer(sl)
		for _, e := range p.Entries {
			s.LoadEntryState(e.UUID, e.State)
		}
		s.Materialize()
		checkSealing("fuzz", p.Sealing, sl)
	})
}

// TestSnapshotChunks reads a snapshot in small chunks: every entry once,
// in UUID order, resumable from any cursor, and gone once expired.
func TestSnapshotChunks(t *testing.T) {
	a := startReplica(t, 1, "")
	a.seedPeople(300)
	r := a.rep
	first, err := r.Snapshot(&SnapshotRequest{Consumer: 2, MaxBytes: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if first.Total != r.state.Len() || first.Generation.IsZero() || first.Done {
		t.Fatalf("first chunk: total %d (state %d) done %v", first.Total, r.state.Len(), first.Done)
	}
	var got []UUID
	chunks := 0
	resp := first
	for {
		chunks++
		for _, e := range resp.Entries {
			if len(got) > 0 && got[len(got)-1].Compare(e.UUID) >= 0 {
				t.Fatalf("entry %s out of order", e.UUID)
			}
			got = append(got, e.UUID)
		}
		if resp.Done {
			break
		}
		if resp.Vector[1] != first.Vector[1] {
			t.Fatalf("the vector moved within one snapshot")
		}
		// Writes go on: the snapshot does not see them.
		a.mustAdd(fmt.Sprintf("cn=late%d,ou=people,dc=example,dc=com", chunks), "objectClass", "person", "sn", "x")
		if resp, err = r.Snapshot(&SnapshotRequest{Consumer: 2, ID: first.ID, After: got[len(got)-1], MaxBytes: 8 << 10}); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != first.Total || chunks < 5 {
		t.Fatalf("%d entries in %d chunks, want %d in several", len(got), chunks, first.Total)
	}
	// Resume from a cursor in the middle: exactly the entries after it.
	mid := got[len(got)/2]
	resp, err = r.Snapshot(&SnapshotRequest{Consumer: 2, ID: first.ID, After: mid, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Done || len(resp.Entries) != len(got)-len(got)/2-1 || resp.Entries[0].UUID != got[len(got)/2+1] {
		t.Fatalf("resume after %s: %d entries", mid, len(resp.Entries))
	}
	// A third consumer's snapshot is one too many only while two are held.
	if _, err := r.Snapshot(&SnapshotRequest{Consumer: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Snapshot(&SnapshotRequest{Consumer: 4}); !errors.Is(err, errSnapshotBusy) {
		t.Fatalf("a third snapshot: %v", err)
	}
	// Consumer 2 starting again replaces its own.
	if _, err := r.Snapshot(&SnapshotRequest{Consumer: 2}); err != nil {
		t.Fatal(err)
	}
	if n, b, taken := r.snaps.heldSnapshots(); n != 2 || b == 0 || taken != 3 {
		t.Fatalf("held %d snapshots (%d bytes), taken %d", n, b, taken)
	}
	resp, err = r.Snapshot(&SnapshotRequest{Consumer: 2, ID: first.ID, After: mid})
	if err != nil || resp.Status != SnapshotGone {
		t.Fatalf("a replaced snapshot: %+v %v", resp, err)
	}
	r.snaps.mu.Lock()
	r.snaps.expire(time.Now().Add(snapshotIdle))
	r.snaps.mu.Unlock()
	if n, _, _ := r.snaps.heldSnapshots(); n != 0 {
		t.Fatalf("%d snapshots held after they idled", n)
	}
}

// TestReinitialiseWhileWriting reinitialises a replica from a supplier
// that keeps taking writes: the snapshot stands at a fixed vector, the
// replica then catches up incrementally, and the digests agree.
func TestReinitialiseWhileWriting(t *testing.T) {
	a := startReplica(t, 1, "")
	b := startReplica(t, 2, "")
	a.seedPeople(400)
	// b has data of its own generation: it is replaced.
	b.mustAdd("dc=example,dc=com", "objectClass", "dcObject", "objectClass", "organization", "dc", "example", "o", "Other")
	b.mustAdd("cn=foreign,dc=example,dc=com", "objectClass", "person", "sn", "f")
	if _, err := b.rep.CatchUp(context.Background(), a.peer()); !errors.Is(err, ErrReinit) {
		t.Fatalf("a replica of another generation pulled: %v", err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			a.mustAdd(fmt.Sprintf("cn=w%d,ou=people,dc=example,dc=com", i), "objectClass", "person", "sn", "w")
			writes.Add(1)
		}
	}()
	cfg := a.peer()
	cfg.SnapshotChunk = 16 << 10
	err := b.rep.Reinitialise(context.Background(), cfg)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	st := b.rep.ReinitStatus()
	if st.Phase != ReinitDone || st.Chunks < 5 || st.Restarts != 0 || int(st.Entries) != st.Total || st.Completed != 1 {
		t.Fatalf("status %+v", st)
	}
	_, snapVec := b.rep.Position()
	_, aVec := a.rep.Position()
	if !snapVec[1].Less(aVec[1]) {
		t.Fatalf("the writes during the transfer were not after the snapshot's vector (%s, supplier at %s, %d writes)", snapVec[1], aVec[1], writes.Load())
	}
	n, err := b.rep.CatchUp(context.Background(), a.peer())
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("nothing pulled after the snapshot")
	}
	da, db := a.settle(), b.settle()
	if da != db {
		t.Fatalf("digests differ after the catch-up: %x %x", da[:6], db[:6])
	}
	// The foreign entry is gone from the store; a local write works and
	// reaches the supplier.
	conn, err := goldap.DialURL(b.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Bind(snapRootDN, snapRootPW); err != nil {
		t.Fatal(err)
	}
	res, err := conn.Search(goldap.NewSearchRequest("dc=example,dc=com", goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false, "(cn=foreign)", nil, nil))
	if err != nil || len(res.Entries) != 0 {
		t.Fatalf("the replaced data is still there: %v %v", res, err)
	}
	b.mustAdd("cn=after,ou=people,dc=example,dc=com", "objectClass", "person", "sn", "a")
	if _, err := a.rep.CatchUp(context.Background(), b.peer()); err != nil {
		t.Fatal(err)
	}
	if da, db := a.settle(), b.settle(); da != db {
		t.Fatalf("digests differ after a write on the reinitialised replica")
	}
	t.Logf("%d entries in %d chunks (%d bytes), %d writes during the transfer, %d pulled after it", st.Entries, st.Chunks, st.Bytes, writes.Load(), n)
}

// TestReinitialiseTrimmedLog: a supplier whose op log no longer reaches
// back to the start refuses a pull from an empty replica, and the
// snapshot seeds it anyway.
func TestReinitialiseTrimmedLog(t *testing.T) {
	a := startReplica(t, 1, "")
	b := startReplica(t, 2, "")
	a.seedPeople(50)
	// Trim a's op log below its 20th change, as the log trimmer would.
	var cut change.CSN
	var keys [][]byte
	a.eng.View(func(v *directory.View) error {
		return v.Records(changelog.KeyRecords, nil, false, func(k, _ []byte) (bool, error) {
			keys = append(keys, bytes.Clone(k))
			c, err := change.DecodeCSN(k[len(changelog.KeyRecords)+2:])
			cut = c
			return len(keys) < 20, err
		})
	})
	err := a.eng.UpdateRecords(context.Background(), func(tx *directory.Tx) error {
		for _, k := range keys {
			if err := tx.DeleteRecord(k); err != nil {
				return err
			}
		}
		return tx.PutRecord(append(bytes.Clone(changelog.KeyFloors), 0, 1), cut.AppendBinary(nil))
	})
	if err != nil {
		t.Fatal(err)
	}
	a.rep.smu.Lock()
	a.rep.floor[1] = cut
	a.rep.smu.Unlock()
	if _, err := b.rep.CatchUp(context.Background(), a.peer()); !errors.Is(err, ErrReinit) {
		t.Fatalf("a pull from a trimmed log: %v", err)
	}
	if err := b.rep.Reinitialise(context.Background(), a.peer()); err != nil {
		t.Fatal(err)
	}
	a.mustAdd("cn=after,ou=people,dc=example,dc=com", "objectClass", "person", "sn", "a")
	if _, err := b.rep.CatchUp(context.Background(), a.peer()); err != nil {
		t.Fatal(err)
	}
	if da, db := a.settle(), b.settle(); da != db {
		t.Fatal("digests differ")
	}
	if b.eng.EntryCount() != 53 {
		t.Fatalf("%d entries, want 53", b.eng.EntryCount())
	}
}

// TestReinitialiseKeepsLocalChanges: changes of the replica that the
// supplier has not pulled yet survive its reinitialisation.
func TestReinitialiseKeepsLocalChanges(t *testing.T) {
	a := startReplica(t, 1, "")
	b := startReplica(t, 2, "")
	a.seedPeople(20)
	if _, err := b.rep.CatchUp(context.Background(), a.peer()); err != nil {
		t.Fatal(err)
	}
	b.mustAdd("cn=mine,ou=people,dc=example,dc=com", "objectClass", "person", "sn", "m")
	if err := b.rep.Reinitialise(context.Background(), a.peer()); err != nil {
		t.Fatal(err)
	}
	if st := b.rep.ReinitStatus(); st.Carried == 0 {
		t.Fatalf("no change carried: %+v", st)
	}
	if _, err := a.rep.CatchUp(context.Background(), b.peer()); err != nil {
		t.Fatal(err)
	}
	if da, db := a.settle(), b.settle(); da != db {
		t.Fatal("digests differ")
	}
	if a.eng.EntryCount() != 23 {
		t.Fatalf("the supplier has %d entries, want 23 (with the consumer's own)", a.eng.EntryCount())
	}
}

// TestReinitialiseDropsStaleLocalChanges: a replica cut off for longer
// than the tombstone window, whose own changes from then are still in
// its log, is reinitialised from a supplier that purged meanwhile. Its
// changes below the snapshot's purge floor are not carried (the
// supplier never had them, and carried they would leave the replica
// refusing every peer as stale, for good), nor are its later changes of
// the same origin (an origin's changes are served as a prefix of its
// history); afterwards both sides pull from each other.
func TestReinitialiseDropsStaleLocalChanges(t *testing.T) {
	const window = 50 * time.Millisecond
	short := func(c *MultiConfig) { c.TombstoneWindow = window }
	a := startReplicaWith(t, 1, "", short)
	b := startReplicaWith(t, 2, "", short)
	a.seedPeople(3)
	ctx := context.Background()
	if _, err := b.rep.CatchUp(ctx, a.peer()); err != nil {
		t.Fatal(err)
	}
	// b, cut off, adds and modifies; a deletes, forgets b and purges
	// the tombstone past b's changes.
	people := "ou=people,dc=example,dc=com"
	b.mustAdd("cn=stale,"+people, "objectClass", "person", "sn", "s")
	modify(t, b.eng, "cn=p0,"+people, "description", "from the stale replica")
	_, staleVec := b.rep.Position()
	if _, err := a.eng.Delete(ctx, "cn=p1,"+people, directory.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	a.settle()
	time.Sleep(3 * window)
	if err := a.rep.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	a.rep.smu.RLock()
	floor := a.rep.state.Floor()
	a.rep.smu.RUnlock()
	if a.rep.purged.Load() == 0 || !staleVec[2].Less(floor) {
		t.Fatalf("the supplier purged %d entries below %s; b's changes stand at %s", a.rep.purged.Load(), floor, staleVec[2])
	}
	// A change b makes after the purge continues the stale ones.
	b.mustAdd("cn=late,"+people, "objectClass", "person", "sn", "l")
	if _, err := b.rep.CatchUp(ctx, a.peer()); !errors.Is(err, ErrReinit) {
		t.Fatalf("the stale replica's pull: %v, want it refused", err)
	}

	if err := b.rep.Reinitialise(ctx, a.peer()); err != nil {
		t.Fatal(err)
	}
	if st := b.rep.ReinitStatus(); st.Carried != 0 {
		t.Errorf("%d changes carried from below the supplier's purge floor %s", st.Carried, floor)
	}
	_, va := a.rep.Position()
	if why, err := b.rep.stale(va); err != nil || why != "" {
		t.Errorf("the reinitialised replica finds its supplier stale: %s (%v)", why, err)
	}
	if _, err := a.rep.CatchUp(ctx, b.peer()); err != nil {
		t.Errorf("the supplier's pull from the reinitialised replica: %v", err)
	}
	if _, err := b.rep.CatchUp(ctx, a.peer()); err != nil {
		t.Errorf("the reinitialised replica's pull: %v", err)
	}
	if da, db := a.settle(), b.settle(); da != db {
		t.Error("digests differ")
	}
	if _, vb := b.rep.Position(); !vectorEqual(va, vb) {
		t.Errorf("vectors differ: supplier %v, reinitialised replica %v", va, vb)
	}
	for _, dn := range []string{"cn=stale,", "cn=late,", "cn=p1,"} {
		if _, err := b.eng.Get(ctx, dn+people); err == nil {
			t.Errorf("%s%s is on the reinitialised replica", dn, people)
		}
	}
}

// TestReinitialiseInterrupted: a replica restarted with its
// reinitialisation marker neither serves, pulls nor takes writes, and
// says so, until a reinitialisation completes.
func TestReinitialiseInterrupted(t *testing.T) {
	a := startReplica(t, 1, "")
	b := startReplica(t, 2, "")
	a.seedPeople(30)
	if err := b.rep.Reinitialise(context.Background(), a.peer()); err != nil {
		t.Fatal(err)
	}
	// A syncrepl cookie from before a reinitialisation is still covered:
	// the store's entries are rewritten through the change log, so a
	// consumer is brought to the new content from its cookie.
	cookie := b.clog.State()
	if err := b.rep.Reinitialise(context.Background(), a.peer()); err != nil {
		t.Fatal(err)
	}
	b.eng.View(func(v *directory.View) error {
		cov, err := b.clog.Coverage(v)
		if err != nil || !cov.Covers(cookie) || !cov.Covers(b.clog.State()) {
			t.Errorf("coverage after a reinitialisation: %v covers old %v / new %v (%v)", cov, cookie, b.clog.State(), err)
		}
		return nil
	})
	// Crash in the middle of the next one: the marker stays.
	if err := b.eng.UpdateRecords(context.Background(), func(tx *directory.Tx) error { return tx.PutRecord(keyReinit, []byte{1}) }); err != nil {
		t.Fatal(err)
	}
	b.close()
	b = startReplica(t, 2, b.dir)
	if st := b.rep.Status(); st.Reinit.Phase != ReinitNeeded {
		t.Fatalf("phase %q after an interrupted reinitialisation", st.Reinit.Phase)
	}
	err := b.add("cn=refused,ou=people,dc=example,dc=com", "objectClass", "person", "sn", "r")
	var le *ldap.Error
	if !errors.As(err, &le) || le.Code != ldap.Unavailable {
		t.Fatalf("a local write on incomplete data: %v", err)
	}
	if _, err := a.rep.CatchUp(context.Background(), b.peer()); err == nil || !goldap.IsErrorWithCode(err, goldap.LDAPResultUnavailable) {
		t.Fatalf("a pull from incomplete data: %v", err)
	}
	if _, err := b.rep.ApplyRemote(context.Background(), a.rep.generation, nil); !errors.Is(err, ErrReinit) {
		t.Fatalf("changes applied to incomplete data: %v", err)
	}
	if err := b.rep.Reinitialise(context.Background(), a.peer()); err != nil {
		t.Fatal(err)
	}
	b.mustAdd("cn=accepted,ou=people,dc=example,dc=com", "objectClass", "person", "sn", "r")
	if _, err := a.rep.CatchUp(context.Background(), b.peer()); err != nil {
		t.Fatal(err)
	}
	if da, db := a.settle(), b.settle(); da != db {
		t.Fatal("digests differ")
	}
	// The installed State survives a restart.
	d := b.settle()
	b.close()
	b = startReplica(t, 2, b.dir)
	if b.rep.Status().Reinit.Phase == ReinitNeeded {
		t.Fatal("a completed reinitialisation reported incomplete after a restart")
	}
	if d2 := b.settle(); d2 != d {
		t.Fatal("the installed state changed across a restart")
	}
}

// TestSnapshotCountsInHeapEstimate: a snapshot held for a consumer is
// heap the soft memory limit must count (a supplier whose limit left it
// out collected without pause while serving one: 109 s of its CPU for a
// 100,000-entry join instead of 12), and the limit hears of it at once.
func TestSnapshotCountsInHeapEstimate(t *testing.T) {
	a := startReplica(t, 1, "")
	a.seedPeople(300)
	r := a.rep
	before := r.HeapEstimate()
	select {
	case <-r.HeapChanged():
	default:
	}
	if _, err := r.Snapshot(&SnapshotRequest{Consumer: 2, MaxBytes: 8 << 10}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.HeapChanged():
	default:
		t.Fatal("taking a snapshot did not signal HeapChanged")
	}
	_, held, _ := r.snaps.heldSnapshots()
	if held < 300*100 {
		t.Fatalf("the snapshot holds %d bytes", held)
	}
	if grew := r.HeapEstimate() - before; grew < held {
		t.Fatalf("HeapEstimate grew by %d bytes with a snapshot of %d held", grew, held)
	}
	r.snaps.mu.Lock()
	r.snaps.expire(time.Now().Add(snapshotIdle))
	r.snaps.mu.Unlock()
	if after := r.HeapEstimate(); after != before {
		t.Fatalf("HeapEstimate %d once the snapshot expired, want %d as before", after, before)
	}
}

// TestReinitialiseSupplierLosesSnapshot: the supplier drops the snapshot
// in the middle of a transfer (as after an idle expiry or a restart);
// the chunks already received and those fetched ahead are dropped, the
// transfer starts again with a new snapshot, and the replica ends with
// the supplier's data, each entry once.
func TestReinitialiseSupplierLosesSnapshot(t *testing.T) {
	a := startReplica(t, 1, "")
	b := startReplica(t, 2, "")
	a.seedPeople(300)
	dropped := make(chan struct{})
	go func() {
		defer close(dropped)
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if b.rep.ReinitStatus().Chunks >= 3 {
				a.rep.snaps.mu.Lock()
				clear(a.rep.snaps.held)
				a.rep.snaps.mu.Unlock()
				return
			}
		}
	}()
	cfg := a.peer()
	cfg.SnapshotChunk = 2 << 10
	err := b.rep.Reinitialise(context.Background(), cfg)
	<-dropped
	if err != nil {
		t.Fatal(err)
	}
	st := b.rep.ReinitStatus()
	if st.Phase != ReinitDone || st.Restarts != 1 || int(st.Entries) <= st.Total {
		t.Fatalf("status %+v, want one restart and more entries received than the snapshot's", st)
	}
	if da, db := a.settle(), b.settle(); da != db {
		t.Fatalf("digests differ after a restarted transfer: %x %x", da[:6], db[:6])
	}
	if got, want := b.eng.EntryCount(), a.eng.EntryCount(); got != want {
		t.Fatalf("%d entries after the reinitialisation, the supplier has %d", got, want)
	}
}
