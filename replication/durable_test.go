package replication

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/replication/changelog"
	"github.com/switchboard-ldap/switchboard/replication/merge"
	"github.com/switchboard-ldap/switchboard/replication/wire"
	"github.com/switchboard-ldap/switchboard/schema"
)

// replica is one in-process replica on a store in dir (reopenable).
type replica struct {
	t   testing.TB
	dir string
	id  uint16
	cfg MultiConfig
	eng *directory.Engine
	r   *Replicator
}

func openReplica(t testing.TB, dir string, id uint16, cfg MultiConfig) *replica {
	t.Helper()
	x := &replica{t: t, dir: dir, id: id, cfg: cfg}
	x.open()
	t.Cleanup(x.close)
	return x
}

func (x *replica) open() {
	t := x.t
	t.Helper()
	s, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(Config{Replica: x.id})
	if err != nil {
		t.Fatal(err)
	}
	cfg := x.cfg
	cfg.Changelog = l
	r, err := NewReplicator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := directory.Open(directory.Options{Dir: x.dir, NoSync: true, Suffix: "dc=example,dc=com", Schema: s,
		Hooks: []directory.WriteHook{r, l}, Stamper: r})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Open(eng); err != nil {
		t.Fatal(err)
	}
	if err := r.Open(eng); err != nil {
		t.Fatal(err)
	}
	x.eng, x.r = eng, r
}

func (x *replica) close() {
	if x.eng != nil {
		x.eng.Close()
		x.eng = nil
	}
}

// reopen closes the store and opens it again, as a restart does.
func (x *replica) reopen() {
	x.t.Helper()
	x.close()
	x.open()
}

func (x *replica) resolve() {
	x.t.Helper()
	if err := x.r.resolve(context.Background()); err != nil {
		x.t.Fatal(err)
	}
}

func (x *replica) add(dn string, attrs ...string) {
	x.t.Helper()
	var as []directory.Attr
	for i := 0; i+1 < len(attrs); i += 2 {
		as = append(as, directory.Attr{Name: attrs[i], Values: [][]byte{[]byte(attrs[i+1])}})
	}
	if _, err := x.eng.Add(context.Background(), dn, as, directory.WriteOptions{}); err != nil {
		x.t.Fatalf("add %s: %v", dn, err)
	}
}

func (x *replica) del(dn string) {
	x.t.Helper()
	if _, err := x.eng.Delete(context.Background(), dn, directory.WriteOptions{}); err != nil {
		x.t.Fatalf("delete %s: %v", dn, err)
	}
}

// stateOf is the whole replicated state in its stored form, the purge
// floor and the vector: what a restart must reproduce.
func stateOf(r *Replicator) string {
	r.smu.Lock() // encoding reads evicted entries into the cache
	defer r.smu.Unlock()
	var b bytes.Buffer
	fmt.Fprintf(&b, "floor %s\n", r.state.Floor())
	for _, o := range wire.SortedOrigins(r.vector) {
		fmt.Fprintf(&b, "vector %d %s\n", o, r.vector[o])
	}
	for _, u := range r.state.Entries() {
		enc, _ := r.state.AppendEntryState(nil, u)
		fmt.Fprintf(&b, "%s %x\n", u, enc)
	}
	return b.String()
}

func (x *replica) population(n int) {
	x.t.Helper()
	x.add("dc=example,dc=com", "objectClass", "dcObject", "objectClass", "organization", "dc", "example", "o", "Example")
	x.add("ou=people,dc=example,dc=com", "objectClass", "organizationalUnit", "ou", "people")
	for i := range n {
		x.add(fmt.Sprintf("cn=p%d,ou=people,dc=example,dc=com", i), "objectClass", "person", "cn", fmt.Sprintf("p%d", i), "sn", "x")
	}
}

func modify(t testing.TB, eng *directory.Engine, dn, attr, value string) {
	t.Helper()
	_, err := eng.Modify(context.Background(), dn, []directory.Mod{{Op: change.ModReplace, Attr: directory.Attr{Name: attr, Values: [][]byte{[]byte(value)}}}}, directory.WriteOptions{})
	if err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}

// TestDurableStateRoundTrip: the State after Open equals the State
// before, from the checkpoint alone, with later ops replayed, and after
// a purge and a trim of the whole op log; purged tombstones stay gone.
func TestDurableStateRoundTrip(t *testing.T) {
	x := openReplica(t, t.TempDir(), 1, MultiConfig{})
	x.population(20)
	x.del("cn=p3,ou=people,dc=example,dc=com")
	modify(t, x.eng, "cn=p4,ou=people,dc=example,dc=com", "sn", "changed")
	// Remote ops of another origin, too.
	u := UUID{9, 9}
	_, people := x.r.state.Entries(), UUID{}
	x.r.smu.RLock()
	for _, e := range x.r.state.Materialize() {
		if strings.HasPrefix(e.DN, "ou=people,") {
			people = e.UUID
		}
	}
	x.r.smu.RUnlock()
	gen, _ := x.r.Position()
	remote := Op{CSN: change.CSN{Time: time.Now().UnixMicro(), Replica: 2}, Kind: change.Add, Entry: u, Parent: people, RDN: "cn=remote",
		Attrs: []Attribute{{Name: "objectClass", Values: []string{"person"}}, {Name: "cn", Values: []string{"remote"}}, {Name: "sn", Values: []string{"r"}}, {Name: "entryUUID", Values: []string{u.String()}}}}
	if _, err := x.r.ApplyRemote(context.Background(), gen, []Op{remote}); err != nil {
		t.Fatal(err)
	}
	x.resolve()
	before := stateOf(x.r)

	x.reopen()
	if got := stateOf(x.r); got != before {
		t.Fatalf("state after reopen differs:\n%s\nwant\n%s", got, before)
	}
	if len(x.r.ckpt) == 0 {
		t.Fatal("no checkpoint loaded")
	}

	// Writes after the checkpoint are replayed from the op log.
	x.add("cn=late,ou=people,dc=example,dc=com", "objectClass", "person", "cn", "late", "sn", "x")
	x.del("cn=p5,ou=people,dc=example,dc=com")
	before = stateOf(x.r)
	x.reopen()
	if got := stateOf(x.r); got != before {
		t.Fatalf("state with replayed ops differs:\n%s\nwant\n%s", got, before)
	}

	// Purge (window 1µs, no other replica known) and trim everything.
	x.close()
	x.cfg.TombstoneWindow, x.cfg.OpLogMaxAge = time.Microsecond, time.Microsecond
	x.open()
	time.Sleep(2 * time.Millisecond)
	x.resolve()
	if err := x.r.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if x.r.purged.Load() != 2 {
		t.Errorf("purged %d tombstones, want 2 (p3, p5)", x.r.purged.Load())
	}
	if x.r.trimmed.Load() == 0 {
		t.Error("nothing trimmed from the op log")
	}
	ops, err := x.r.OpLog()
	if err != nil {
		t.Fatal(err)
	}
	for o, st := range ops {
		if st.Ops != 0 || st.Floor == "" {
			t.Errorf("origin %s: %+v after trimming everything", o, st)
		}
	}
	before = stateOf(x.r)
	x.reopen()
	if got := stateOf(x.r); got != before {
		t.Fatalf("state after purge and reopen differs:\n%s\nwant\n%s", got, before)
	}
	if n := x.r.state.Len(); n != 22 { // suffix, people, 20 - 2 deleted, late, remote
		t.Errorf("%d entries in the state, want 22", n)
	}
	d1, err := x.r.StoreDigest()
	if err != nil {
		t.Fatal(err)
	}
	if d2 := x.r.state.Digest(); d1 != d2 {
		t.Error("the store does not hold what the state resolves to")
	}
}

// TestRestartResumesFromTheStoreMark: a restart whose store mark stands
// beside the checkpoint rebuilds only what may differ from the store:
// remote changes checkpointed but never resolved into the store (a crash
// between the two) are in the mark and reach the store; a renamed parent
// moves its children; every other entry is taken as stored. A mark beside
// another checkpoint is ignored (every entry rebuilt).
func TestRestartResumesFromTheStoreMark(t *testing.T) {
	ctx := context.Background()
	x := openReplica(t, t.TempDir(), 1, MultiConfig{})
	x.population(50)
	x.add("ou=staff,dc=example,dc=com", "objectClass", "organizationalUnit", "ou", "staff")
	x.add("cn=s1,ou=staff,dc=example,dc=com", "objectClass", "person", "cn", "s1", "sn", "x")
	x.resolve()
	uuidOf := func(dn string) UUID {
		t.Helper()
		en, err := x.eng.Get(ctx, dn)
		if err != nil || en == nil {
			t.Fatalf("%s: %v", dn, err)
		}
		u, err := merge.ParseUUID(en.First("entryUUID"))
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	staff, p1, p2 := uuidOf("ou=staff,dc=example,dc=com"), uuidOf("cn=p1,ou=people,dc=example,dc=com"), uuidOf("cn=p2,ou=people,dc=example,dc=com")
	gen, _ := x.r.Position()
	c := func(n int64) change.CSN { return change.CSN{Time: time.Now().UnixMicro() + n, Replica: 2} }
	root := uuidOf("dc=example,dc=com")
	ops := []Op{
		{CSN: c(1), Kind: change.Modify, Entry: p1, Mods: []Mod{{Op: change.ModReplace, Attr: "sn", Values: []string{"remote"}}}},
		{CSN: c(2), Kind: change.Delete, Entry: p2},
		{CSN: c(3), Kind: change.ModRDN, Entry: staff, Parent: root, RDN: "ou=crew"},
	}
	if _, err := x.r.ApplyRemote(ctx, gen, ops); err != nil {
		t.Fatal(err)
	}
	// Checkpointed, never resolved: then the crash.
	if err := x.r.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	x.reopen()
	if x.r.resume == nil {
		t.Fatal("no store mark found beside the checkpoint")
	}
	x.resolve()
	// 54 entries: all but the deleted p2, the renamed unit and its child
	// (p1 too, then rebuilt as the mark lists it).
	if x.r.resumed != 51 {
		t.Fatalf("the first resolution took %d of 54 entries from the store, want 51", x.r.resumed)
	}
	checkStore := func(what string) {
		t.Helper()
		d, err := x.r.StoreDigest()
		if err != nil {
			t.Fatal(err)
		}
		x.r.smu.RLock()
		want := x.r.state.Digest()
		x.r.smu.RUnlock()
		if d != want || x.r.mat.Digest() != want {
			t.Fatalf("%s: the store or the Shown differs from the state", what)
		}
		if en, _ := x.eng.Get(ctx, "cn=p1,ou=people,dc=example,dc=com"); en == nil || en.First("sn") != "remote" {
			t.Fatalf("%s: the checkpointed remote modify is not in the store: %v", what, en)
		}
		if en, _ := x.eng.Get(ctx, "cn=p2,ou=people,dc=example,dc=com"); en != nil {
			t.Fatalf("%s: the checkpointed remote delete is not in the store", what)
		}
		if en, _ := x.eng.Get(ctx, "cn=s1,ou=crew,dc=example,dc=com"); en == nil {
			t.Fatalf("%s: the child of the renamed unit did not move", what)
		}
	}
	checkStore("resumed")

	// A mark beside another checkpoint is not trusted.
	x.r.smu.RLock()
	mark := appendStoreMark(nil, []byte("another checkpoint"), nil)
	x.r.smu.RUnlock()
	if err := x.eng.UpdateRecords(ctx, func(tx *directory.Tx) error { return tx.PutRecord(keyStoreMark, mark) }); err != nil {
		t.Fatal(err)
	}
	x.reopen()
	if x.r.resume != nil {
		t.Fatal("a mark beside another checkpoint was trusted")
	}
	x.resolve()
	if x.r.resumed != 0 {
		t.Fatalf("%d entries taken from the store without a valid mark", x.r.resumed)
	}
	checkStore("rebuilt")
}

// TestResumeKeepsOnlyTheDN: a restart remembers each stored entry of the
// store mark (its DN and fingerprint) until the first resolution, and the
// Shown built from them keeps the DNs. A DN cut from the entry's decoded
// record must not keep the whole record: a restarted 1M-entry replica held
// 1.1 GB of records so.
func TestResumeKeepsOnlyTheDN(t *testing.T) {
	x := openReplica(t, t.TempDir(), 1, MultiConfig{})
	x.population(0)
	const n, size = 300, 64 << 10
	big := strings.Repeat("x", size)
	for i := range n {
		x.add(fmt.Sprintf("cn=b%d,ou=people,dc=example,dc=com", i), "objectClass", "person", "cn", fmt.Sprintf("b%d", i), "sn", "x", "description", big)
	}
	x.resolve()
	if err := x.r.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	x.reopen()
	if x.r.resume == nil || len(x.r.resume.stored) < n {
		t.Fatal("no store mark to resume from")
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	with := heap()
	x.r.resume = nil
	without := heap()
	if with > without && with-without > n*size/4 {
		t.Fatalf("the store mark's %d entries hold %d KB (%d KB an entry): their DNs keep the decoded records", n, (with-without)>>10, (with-without)/n>>10)
	}
}

// TestDurableCrashBeforeCheckpoint: entry states written without their
// checkpoint (a crash between the two) are repaired by the replay, also
// when the lost checkpoint was the one after a purge.
func TestDurableCrashBeforeCheckpoint(t *testing.T) {
	x := openReplica(t, t.TempDir(), 1, MultiConfig{TombstoneWindow: time.Microsecond})
	x.population(10)
	x.resolve()
	modify(t, x.eng, "cn=p1,ou=people,dc=example,dc=com", "sn", "after-checkpoint")
	x.del("cn=p2,ou=people,dc=example,dc=com")
	x.add("cn=new,ou=people,dc=example,dc=com", "objectClass", "person", "cn", "new", "sn", "x")
	want := stateOf(x.r)
	// The records of the changed entries, but not the checkpoint.
	x.r.smu.Lock()
	b := x.r.takeBatch()
	x.r.smu.Unlock()
	writeRecordsOnly(t, x, b)
	x.reopen()
	if got := stateOf(x.r); got != want {
		t.Fatalf("after a crash before the checkpoint:\n%s\nwant\n%s", got, want)
	}

	// Purge p2's tombstone; crash after the purged records, before the
	// checkpoint that carries the new floor.
	x.resolve()
	time.Sleep(2 * time.Millisecond)
	bound := x.r.purgeBound(time.Now())
	x.r.smu.Lock()
	if b := x.r.takeBatch(); len(b.keys) != 0 {
		t.Fatalf("%d entries unsaved after resolve", len(b.keys))
	}
	x.r.state.Purge(bound)
	b = x.r.takeBatch()
	x.r.smu.Unlock()
	removed := 0
	for i := range b.keys {
		if b.vals[i] == nil {
			removed++
		}
	}
	if removed != 1 {
		t.Fatalf("purge batch: %d of %d records removed, want p2's", removed, len(b.keys))
	}
	purged := stateOf(x.r)
	writeRecordsOnly(t, x, b)
	x.reopen()
	got := stateOf(x.r)
	// The floor is the old checkpoint's until the next save; the
	// entries must be the purged ones, the tombstone not back.
	if stripFloor(got) != stripFloor(purged) {
		t.Fatalf("after a crash before the purge checkpoint:\n%s\nwant\n%s", got, purged)
	}
}

func stripFloor(s string) string {
	_, rest, _ := bytes.Cut([]byte(s), []byte("\n"))
	return string(rest)
}

func writeRecordsOnly(t *testing.T, x *replica, b stateBatch) {
	t.Helper()
	err := x.eng.UpdateRecords(context.Background(), func(tx *directory.Tx) error {
		for i := range b.keys {
			var err error
			if b.vals[i] == nil {
				err = tx.DeleteRecord(b.keys[i])
			} else {
				err = tx.PutRecord(b.keys[i], b.vals[i])
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDurableMigratesOpLogOnlyStore: a store with an op log and no
// stored state (written before this version) replays the whole log and
// gets its checkpoint at the first resolution.
func TestDurableMigratesOpLogOnlyStore(t *testing.T) {
	x := openReplica(t, t.TempDir(), 1, MultiConfig{})
	x.population(5)
	want := stateOf(x.r)
	x.close()
	x.open()
	err := x.eng.UpdateRecords(context.Background(), func(tx *directory.Tx) error {
		// No resolution ran: nothing is stored yet.
		v, err := tx.Record(keyCheckpoint)
		if err != nil || v != nil {
			return fmt.Errorf("checkpoint before any resolution: %x %v", v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := stateOf(x.r); got != want {
		t.Fatalf("replayed state differs:\n%s\nwant\n%s", got, want)
	}
	x.resolve()
	x.reopen()
	if x.r.ckpt == nil || stateOf(x.r) != want {
		t.Fatal("no checkpoint after the first resolution, or a different state")
	}
}

// TestTrimNeverPassesAConsumer: the op log is trimmed up to the lowest
// acknowledged position, not past it; a consumer that has seen nothing
// of an origin holds that origin's whole log; a forgotten consumer holds
// nothing and is refused; one at the floor is served.
func TestTrimNeverPassesAConsumer(t *testing.T) {
	x := openReplica(t, t.TempDir(), 1, MultiConfig{OpLogMaxAge: time.Microsecond, TombstoneWindow: time.Hour})
	x.population(10)
	var csns []change.CSN
	x.eng.View(func(v *directory.View) error {
		p := changelog.OriginPrefix(1)
		return v.Records(p, nil, false, func(k, _ []byte) (bool, error) {
			c, _ := change.DecodeCSN(k[len(p):])
			csns = append(csns, c)
			return true, nil
		})
	})
	if len(csns) != 12 {
		t.Fatalf("%d ops of origin 1, want 12", len(csns))
	}
	gen, _ := x.r.Position()
	x.r.observe(2, Vector{1: csns[5]}, true, "")
	x.r.observe(3, Vector{1: csns[8]}, true, "")
	x.r.observe(4, Vector{2: csns[11]}, false, "") // a supplier only: does not hold the log
	time.Sleep(time.Millisecond)
	x.resolve()
	if err := x.r.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := x.r.floor[1]; got != csns[5] {
		t.Fatalf("floor of origin 1 is %s, want the slowest consumer's %s", got, csns[5])
	}
	if n := x.r.trimmed.Load(); n != 6 {
		t.Errorf("trimmed %d ops, want 6", n)
	}
	// The slow consumer is served from where it stands; one below the
	// floor is refused and reported.
	resp, err := x.r.Pull(&PullRequest{Generation: gen, Consumer: 2, Vector: Vector{1: csns[5]}})
	if err != nil || resp.Status != PullOK || len(resp.Ops) != 6 {
		t.Fatalf("the slowest consumer: %v %+v", err, resp)
	}
	resp, err = x.r.Pull(&PullRequest{Generation: gen, Consumer: 5, Vector: Vector{1: csns[4]}})
	if err != nil || resp.Status != PullReinit {
		t.Fatalf("a consumer below the floor: %v %+v", err, resp)
	}
	st := x.r.Status()
	found := false
	for _, k := range st.Replicas {
		if k.ID == 5 && k.State == string(PeerReinit) && k.Reason != "" {
			found = true
		}
	}
	if !found || st.Refusals != 1 {
		t.Errorf("the refused consumer is not reported: %+v", st.Replicas)
	}

	// A consumer that has seen nothing of origin 1 holds all of it.
	y := openReplica(t, t.TempDir(), 1, MultiConfig{OpLogMaxAge: time.Microsecond, TombstoneWindow: time.Hour})
	y.population(3)
	y.r.observe(2, Vector{7: {Time: 1, Replica: 7}}, true, "")
	time.Sleep(time.Millisecond)
	y.resolve()
	if err := y.r.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if y.r.trimmed.Load() != 0 {
		t.Errorf("trimmed %d ops a consumer had not seen", y.r.trimmed.Load())
	}

	// Positions survive a restart.
	x.reopen()
	if len(x.r.known) != 3 || x.r.known[2].Vector[1] != csns[5] || !x.r.known[2].Consumer || x.r.known[4].Consumer {
		t.Errorf("positions after reopen: %+v", x.r.known)
	}
}

// TestTrimKeepsWhatTheStateNeeds: nothing above the saved checkpoint is
// trimmed, however old, and max_ops alone trims the excess.
func TestTrimKeepsWhatTheStateNeeds(t *testing.T) {
	x := openReplica(t, t.TempDir(), 1, MultiConfig{OpLogMaxOps: 4})
	x.population(6) // 8 ops, no checkpoint yet
	if err := x.r.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Maintain saved a checkpoint first (it saves the State): the
	// excess over 4 is trimmed, the newest 4 kept.
	ops, _ := x.r.OpLog()
	if ops["1"].Ops != 4 {
		t.Fatalf("op log: %+v, want 4 ops left", ops)
	}
	// Without a saved checkpoint nothing goes.
	y := openReplica(t, t.TempDir(), 1, MultiConfig{OpLogMaxOps: 1, OpLogMaxAge: time.Microsecond})
	y.population(3)
	if n, err := y.r.trimOpLog(context.Background(), time.Now()); err != nil || n != 0 {
		t.Fatalf("trimmed %d ops above the checkpoint (%v)", n, err)
	}
}

// TestPurgeBound: the tombstone window back from now, lowered to the
// position of a known replica that lags; a replica not lagging, one
// forgotten or one refused does not lower it.
func TestPurgeBound(t *testing.T) {
	x := openReplica(t, t.TempDir(), 1, MultiConfig{TombstoneWindow: time.Minute})
	x.population(2)
	_, vec := x.r.Position()
	now := time.Now()
	b := x.r.purgeBound(now)
	if d := now.Add(-time.Minute).Sub(b.Wall()); d < -time.Second || d > time.Second {
		t.Fatalf("bound %s, want about a minute ago", b)
	}
	old := change.CSN{Time: now.Add(-2 * time.Minute).UnixMicro(), Replica: 1}
	x.r.observe(2, vec, true, "")                 // up to date
	x.r.observe(4, Vector{1: old}, false, "nope") // refused
	if got := x.r.purgeBound(now); got != b {
		t.Fatalf("bound %s moved for replicas not lagging or refused", got)
	}
	x.r.observe(3, Vector{1: old}, true, "")
	if got := x.r.purgeBound(now); got != old {
		t.Fatalf("bound %s, want the lagging replica's %s", got, old)
	}
	x.r.known[3].Seen = now.Add(-2 * time.Minute) // not seen for the window
	if got := x.r.purgeBound(now); got != b {
		t.Fatalf("bound %s: a forgotten replica still holds it", got)
	}
}

// TestStaleReplicaRefusedBothWays: after a purge, a replica that lacks a
// change below the purge floor is refused as a consumer and its changes
// are refused as a supplier's; a new replica without data is served.
func TestStaleReplicaRefusedBothWays(t *testing.T) {
	x := openReplica(t, t.TempDir(), 1, MultiConfig{TombstoneWindow: time.Microsecond})
	x.population(3)
	gen, staleVec := x.r.Position()
	x.del("cn=p0,ou=people,dc=example,dc=com")
	time.Sleep(2 * time.Millisecond)
	x.resolve()
	if err := x.r.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if x.r.purged.Load() != 1 {
		t.Fatalf("purged %d", x.r.purged.Load())
	}
	_, cur := x.r.Position()
	if why, _ := x.r.stale(cur); why != "" {
		t.Fatalf("an up-to-date vector is stale: %s", why)
	}
	why, err := x.r.stale(staleVec)
	if err != nil || why == "" {
		t.Fatalf("a vector lacking the purged delete is not stale (%v)", err)
	}
	resp, err := x.r.Pull(&PullRequest{Generation: gen, Consumer: 2, Vector: staleVec})
	if err != nil || resp.Status != PullReinit || len(resp.Ops) != 0 {
		t.Fatalf("stale consumer: %v %+v", err, resp)
	}
	resp, err = x.r.Pull(&PullRequest{Consumer: 3, Vector: Vector{}})
	if err != nil || resp.Status != PullOK || len(resp.Ops) == 0 {
		t.Fatalf("a new replica is not served from the log: %v %+v", err, resp)
	}
}

// BenchmarkReplicatorOpen measures Open on a store of N entries
// (SWITCHBOARD_OPEN_ENTRIES, default 10000) from the stored State and,
// for comparison, by replaying the whole op log.
func BenchmarkReplicatorOpen(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("SWITCHBOARD_OPEN_ENTRIES")); err == nil {
		n = v
	}
	x := openReplica(b, b.TempDir(), 1, MultiConfig{})
	x.population(0)
	gen, _ := x.r.Position()
	var people UUID
	x.r.smu.RLock()
	for _, e := range x.r.state.Materialize() {
		if strings.HasPrefix(e.DN, "ou=people,") {
			people = e.UUID
		}
	}
	x.r.smu.RUnlock()
	start := time.Now()
	base := time.Now().UnixMicro()
	for i := 0; i < n; i += 1000 {
		var ops []Op
		for j := i; j < min(i+1000, n); j++ {
			var u UUID
			u[0], u[1], u[2], u[3] = 7, byte(j>>16), byte(j>>8), byte(j)
			cn := fmt.Sprintf("u%d", j)
			ops = append(ops, Op{CSN: change.CSN{Time: base + int64(j), Replica: 2}, Kind: change.Add, Entry: u, Parent: people, RDN: "cn=" + cn,
				Attrs: []Attribute{{Name: "objectClass", Values: []string{"top", "person", "organizationalPerson", "inetOrgPerson"}},
					{Name: "cn", Values: []string{cn}}, {Name: "sn", Values: []string{"Surname"}}, {Name: "mail", Values: []string{cn + "@example.com"}},
					{Name: "description", Values: []string{"a user of the benchmark", "with two values"}},
					{Name: "entryUUID", Values: []string{u.String()}}}})
		}
		if _, err := x.r.ApplyRemote(context.Background(), gen, ops); err != nil {
			b.Fatal(err)
		}
	}
	x.resolve()
	b.Logf("%d entries built in %s", n, time.Since(start).Round(time.Millisecond))
	openOnce := func() time.Duration {
		l, err := New(Config{Replica: 1})
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Open(x.eng); err != nil {
			b.Fatal(err)
		}
		r, _ := NewReplicator(MultiConfig{Changelog: l})
		t0 := time.Now()
		if err := r.Open(x.eng); err != nil {
			b.Fatal(err)
		}
		if r.state.Len() != n+2 {
			b.Fatalf("%d entries loaded", r.state.Len())
		}
		return time.Since(t0)
	}
	b.Run("checkpoint", func(b *testing.B) {
		for b.Loop() {
			b.ReportMetric(float64(openOnce().Milliseconds()), "ms/open")
		}
	})
	b.Run("replay", func(b *testing.B) {
		if err := x.eng.UpdateRecords(context.Background(), func(tx *directory.Tx) error { return tx.DeleteRecord(keyCheckpoint) }); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			b.ReportMetric(float64(openOnce().Milliseconds()), "ms/open")
		}
	})
}

// FuzzDecodeDurableRecords: the checkpoint, store mark and replica position decoders
// never panic, and what they accept encodes back to the same bytes.
func FuzzDecodeDurableRecords(f *testing.F) {
	c := change.CSN{Time: 1700000000000000, Counter: 3, Replica: 2, Sub: 1}
	f.Add(appendCheckpoint(nil, c, Vector{1: c, 2: c}))
	f.Add(appendCheckpoint(nil, change.CSN{}, Vector{}))
	f.Add((&changelog.Position{Vector: Vector{7: c}, Seen: time.UnixMicro(5), Consumer: true, Refused: "stale"}).AppendBinary(nil))
	f.Add([]byte{0, 1, 2})
	f.Add(appendStoreMark(nil, appendCheckpoint(nil, c, Vector{1: c}), []UUID{{1}, {2, 3}}))
	f.Add(appendStoreMark(nil, nil, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		if ckpt, pending, err := decodeStoreMark(b); err == nil {
			c2, p2, err := decodeStoreMark(appendStoreMark(nil, ckpt, pending))
			if err != nil || !bytes.Equal(c2, ckpt) || !slices.Equal(p2, pending) {
				t.Errorf("store mark %x does not survive re-encoding: %v", b, err)
			}
		}
		if floor, v, err := decodeCheckpoint(b); err == nil {
			enc := appendCheckpoint(nil, floor, v)
			f2, v2, err := decodeCheckpoint(enc)
			if err != nil || f2 != floor || !vectorEqual(v, v2) || !bytes.Equal(appendCheckpoint(nil, f2, v2), enc) {
				t.Errorf("checkpoint %x does not survive re-encoding: %v", b, err)
			}
		}
		if p, err := changelog.DecodePosition(b); err == nil {
			enc := p.AppendBinary(nil)
			p2, err := changelog.DecodePosition(enc)
			if err != nil || p2.Consumer != p.Consumer || !p2.Seen.Equal(p.Seen) || p2.Refused != p.Refused || !vectorEqual(p.Vector, p2.Vector) {
				t.Errorf("position %x does not survive re-encoding: %v", b, err)
			}
		}
	})
}

// TestStatusWhileAResolutionHoldsTheState: a long resolution holds the
// State's lock shared; a writer waiting for it (a pull being applied)
// makes every new reader of the lock wait too. Status and Position must
// answer all the same, with what was last published.
func TestStatusWhileAResolutionHoldsTheState(t *testing.T) {
	x := openReplica(t, t.TempDir(), 1, MultiConfig{})
	x.population(3)
	x.resolve()
	_, want := x.r.Position()
	x.r.smu.RLock() // the resolution
	writer := make(chan struct{})
	go func() {
		x.r.smu.Lock() // the pull, waiting
		x.r.seq++      // what it changes
		x.r.smu.Unlock()
		close(writer)
	}()
	time.Sleep(50 * time.Millisecond)
	done := make(chan Status, 1)
	go func() {
		_, v := x.r.Position()
		if !vectorEqual(v, want) {
			t.Errorf("Position: %v, want %v", v, want)
		}
		done <- x.r.Status()
	}()
	select {
	case st := <-done:
		if len(st.Vector) == 0 || st.Entries == 0 {
			t.Errorf("status without the replica's position: %+v", st)
		}
	case <-time.After(5 * time.Second):
		t.Error("Status waited for the resolution")
		defer func() { <-done }()
	}
	x.r.smu.RUnlock()
	<-writer
}
