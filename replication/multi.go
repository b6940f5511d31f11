package replication

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// Multi-supplier side records (see the package documentation).
var (
	keyOps        = []byte{directory.PrefixReplication, 'o'} // o | origin | CSN -> Op
	keyGeneration = []byte{directory.PrefixReplication, 'g'} // g -> 16 bytes
	keyOpFloor    = []byte{directory.PrefixReplication, 'O'} // O | origin -> CSN
)

func opKey(c CSN) []byte {
	b := binary.BigEndian.AppendUint16(bytes.Clone(keyOps), c.Replica)
	return c.AppendBinary(b)
}

// A Generation names one replicated data set: replicas exchange changes
// only within a generation. It is made at the first write of a store and
// copied by every replica that joins.
type Generation [16]byte

// IsZero reports whether g is unset.
func (g Generation) IsZero() bool { return g == Generation{} }

func (g Generation) String() string { return UUID(g).String() }

// A Vector is, per origin replica, the largest CSN of that origin a
// replica has applied: it holds every change of the origin up to it.
type Vector map[uint16]CSN

// Clone returns a copy of v.
func (v Vector) Clone() Vector {
	out := make(Vector, len(v))
	for o, c := range v {
		out[o] = c
	}
	return out
}

// MultiConfig configures a Replicator.
type MultiConfig struct {
	// Changelog is the replica's changelog, already created (New): the
	// Replicator wraps it as the engine's Stamper and shares its Clock.
	Changelog *Changelog
	Logger    *slog.Logger
	// Settle is how long the Replicator waits after a change before it
	// writes the resolved entries to the store (default 50ms): changes
	// arriving together are resolved together.
	Settle time.Duration
}

// A Replicator makes a replica a supplier among suppliers: it keeps the
// replicated State of the directory, fed by the replica's own writes
// (as the engine's Stamper and a write hook) and by the changes it pulls
// from its peers, stores every change in its op log, and writes the
// entries that State.Materialize resolves into the store.
//
// Create it with NewReplicator, pass it to directory.Open as the Stamper
// and as a write hook, then call Open with the engine and Run.
type Replicator struct {
	cfg    MultiConfig
	log    *slog.Logger
	clog   *Changelog
	eng    *directory.Engine
	schema Schema

	// wmu serialises every write to the store: local writes (held from
	// Stamp to Settle), remote batches and the writes of resolved
	// entries. Local writes therefore commit in CSN order, which keeps
	// every replica's log of an origin a prefix of that origin's history.
	wmu     sync.Mutex
	pending []Op
	touch   []touched
	newGen  Generation // made by the write in progress

	smu        sync.RWMutex
	state      *State
	vector     Vector
	floor      Vector
	generation Generation
	seq        uint64 // state version, under smu

	// The store's mirror of the state, under wmu.
	ids        map[UUID]directory.ID
	shown      map[UUID][32]byte
	touchedSeq map[UUID]uint64

	dirty chan struct{}

	statusMu sync.Mutex
	status   storeStatus

	applied   atomic.Int64
	localOps  atomic.Int64
	refusals  atomic.Int64
	peersMu   sync.Mutex
	peers     map[string]*Peer
	peerOrder []string

	reinit reinitTracker // this replica's reinitialisation (reinit.go)
	snaps  snapshotStore // snapshots served to consumers (snapshot.go)
}

type touched struct {
	u  UUID
	en *directory.Entry // nil: removed
}

// storeStatus is what the last resolution left in the store.
type storeStatus struct {
	Digest    [32]byte
	Seq       uint64 // the state version it resolved
	Settled   bool   // the store holds Materialize of that version
	Entries   int
	Conflicts int
	At        time.Time
	Duration  time.Duration
}

// NewReplicator returns a Replicator for cfg; it does nothing until Open.
func NewReplicator(cfg MultiConfig) (*Replicator, error) {
	if cfg.Changelog == nil {
		return nil, errors.New("replication: MultiConfig.Changelog is nil")
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 50 * time.Millisecond
	}
	r := &Replicator{cfg: cfg, log: cfg.Logger, clog: cfg.Changelog, vector: Vector{}, floor: Vector{},
		ids: map[UUID]directory.ID{}, shown: map[UUID][32]byte{}, touchedSeq: map[UUID]uint64{},
		dirty: make(chan struct{}, 1), peers: map[string]*Peer{}}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// Replica returns the local replica ID.
func (r *Replicator) Replica() uint16 { return r.clog.Replica() }

// dirSchema is the directory schema as the merge needs it.
type dirSchema struct{ s *schema.Schema }

func (d dirSchema) attr(name string) *schema.AttributeType {
	base, _ := schema.SplitOptions(name)
	at, _ := d.s.Attribute(base)
	return at
}

func (d dirSchema) SingleValued(name string) bool {
	at := d.attr(name)
	return at != nil && at.SingleValue
}

func (d dirSchema) EqualityKey(name, value string) string {
	at := d.attr(name)
	if at == nil || at.Equality == nil {
		return value
	}
	n, err := at.Normalize([]byte(value))
	if err != nil {
		return value
	}
	return string(n)
}

// Open loads the op log into the replicated state and the store's
// entries into the mirror, after the Changelog's Open. Stored entries the
// op log does not know (replication switched on for an existing
// directory, an offline load) are recorded as local adds first.
func (r *Replicator) Open(eng *directory.Engine) error {
	r.eng = eng
	r.schema = dirSchema{eng.Schema()}
	r.state = NewState(r.schema)
	var maxSeen CSN
	incomplete := false
	err := eng.View(func(v *directory.View) error {
		var err error
		if incomplete, err = r.openReinit(v); err != nil {
			return err
		}
		g, err := v.Record(keyGeneration)
		if err != nil {
			return err
		}
		copy(r.generation[:], g)
		if err := v.Records(keyOpFloor, nil, false, func(k, val []byte) (bool, error) {
			c, err := DecodeCSN(val)
			if err == nil && len(k) == len(keyOpFloor)+2 {
				r.floor[binary.BigEndian.Uint16(k[len(keyOpFloor):])] = c
			}
			return true, err
		}); err != nil {
			return err
		}
		return v.Records(keyOps, nil, false, func(k, val []byte) (bool, error) {
			op, err := DecodeOp(val)
			if err != nil {
				return false, fmt.Errorf("op log record %x: %w", k, err)
			}
			r.state.Apply(&op) // a malformed op was refused everywhere; it stays refused
			if r.vector[op.Origin()].Less(op.CSN) {
				r.vector[op.Origin()] = op.CSN
			}
			if maxSeen.Less(op.CSN) {
				maxSeen = op.CSN
			}
			return true, nil
		})
	})
	if err != nil {
		return fmt.Errorf("replication: load op log: %w", err)
	}
	clock := r.clog.Clock()
	if clock == nil {
		return errors.New("replication: open the Changelog before the Replicator")
	}
	clock.Observe(maxSeen) // resume above every change seen; a refused one was never stored

	// The mirror: which entry is where, and what it holds.
	idUUID := map[directory.ID]UUID{}
	var all []*directory.Entry
	err = eng.ForEachEntry(func(en *directory.Entry) error {
		u, err := ParseUUID(en.First("entryUUID"))
		if err != nil {
			return fmt.Errorf("entry %q: entryUUID: %w", en.DN, err)
		}
		r.ids[u] = en.ID
		idUUID[en.ID] = u
		r.shown[u] = fingerprint(r.storedEntry(u, en))
		if _, known := r.state.entries[u]; !known {
			all = append(all, en)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replication: load entries: %w", err)
	}
	if len(all) > 0 && !incomplete {
		if err := r.seed(all, idUUID); err != nil {
			return err
		}
	}
	r.markDirty()
	return nil
}

// seed records as local adds the entries of the store that the op log
// does not know: a store that predates replication, or entries loaded
// offline (ldif load) while the server was down. Without this the first
// resolution would remove them.
func (r *Replicator) seed(all []*directory.Entry, idUUID map[directory.ID]UUID) error {
	clock := r.clog.Clock()
	var ops []Op
	for _, en := range all {
		op := Op{CSN: clock.Next(), Kind: OpAdd, Entry: idUUID[en.ID], Parent: idUUID[en.ParentID], Attrs: attrsOf(en)}
		var err error
		if op.RDN, err = r.rdnOf(en); err != nil {
			return err
		}
		ops = append(ops, op)
	}
	gen := r.generation
	if gen.IsZero() {
		gen = newGeneration()
	}
	for start := 0; start < len(ops); start += 1000 {
		batch := ops[start:min(start+1000, len(ops))]
		err := r.eng.UpdateRecords(context.Background(), func(tx *directory.Tx) error {
			for i := range batch {
				if err := tx.PutRecord(opKey(batch[i].CSN), batch[i].AppendBinary(nil)); err != nil {
					return err
				}
			}
			return tx.PutRecord(keyGeneration, gen[:])
		})
		if err != nil {
			return fmt.Errorf("replication: seed op log: %w", err)
		}
	}
	for i := range ops {
		r.state.Apply(&ops[i])
		if r.vector[ops[i].Origin()].Less(ops[i].CSN) {
			r.vector[ops[i].Origin()] = ops[i].CSN
		}
	}
	r.generation = gen
	r.log.Info("replication: recorded the existing entries in the op log", "entries", len(ops), "generation", gen.String())
	return nil
}

func newGeneration() Generation {
	var g Generation
	rand.Read(g[:])
	return g
}

// Stamp implements directory.Stamper: it takes the write lock, released
// by the matching Settle.
func (r *Replicator) Stamp() string {
	r.wmu.Lock()
	r.pending, r.touch, r.newGen = r.pending[:0], r.touch[:0], Generation{}
	return r.clog.Stamp()
}

// Settle implements directory.Stamper: a committed write's changes join
// the replicated state.
func (r *Replicator) Settle(text string, ch *directory.Change) {
	defer r.wmu.Unlock()
	r.clog.Settle(text, ch)
	if ch == nil || r.state == nil {
		return
	}
	r.smu.Lock()
	if !r.newGen.IsZero() {
		r.generation = r.newGen
	}
	for i := range r.pending {
		op := &r.pending[i]
		r.state.Apply(op)
		if r.vector[op.Origin()].Less(op.CSN) {
			r.vector[op.Origin()] = op.CSN
		}
	}
	r.seq++
	seq := r.seq
	r.smu.Unlock()
	r.localOps.Add(int64(len(r.pending)))
	for _, t := range r.touch {
		r.touchedSeq[t.u] = seq
		if t.en == nil {
			delete(r.ids, t.u)
			delete(r.shown, t.u)
			continue
		}
		r.ids[t.u] = t.en.ID
		r.shown[t.u] = fingerprint(r.storedEntry(t.u, t.en))
	}
	r.markDirty()
}

// Name implements directory.WriteHook.
func (r *Replicator) Name() string { return "replication" }

// OnChange implements directory.WriteHook: it turns the local write (and
// what earlier hooks derived from it) into Ops and stores them in the
// op log, in the write's transaction.
func (r *Replicator) OnChange(_ context.Context, tx *directory.Tx, ch *directory.Change) error {
	if r.state == nil || ch.CSN == "" {
		return nil
	}
	if err := r.reinit.writable(); err != nil {
		return err
	}
	c, err := ParseCSN(ch.CSN)
	if err != nil {
		return err
	}
	ops, touch, err := r.opsOf(tx, ch, c)
	if err != nil {
		return fmt.Errorf("replication: %w", err)
	}
	// Refuse here what Apply would refuse later: a write the state
	// cannot take must not be acknowledged.
	scratch := NewState(r.schema)
	for i := range ops {
		if err := scratch.Apply(&ops[i]); err != nil {
			return err
		}
		if err := tx.PutRecord(opKey(ops[i].CSN), ops[i].AppendBinary(nil)); err != nil {
			return err
		}
	}
	r.smu.RLock()
	noGen := r.generation.IsZero()
	r.smu.RUnlock()
	if noGen && len(ops) > 0 {
		r.newGen = newGeneration()
		if err := tx.PutRecord(keyGeneration, r.newGen[:]); err != nil {
			return err
		}
	}
	r.pending, r.touch = ops, touch
	return nil
}

func (r *Replicator) uuidOf(en *directory.Entry) (UUID, error) {
	u, err := ParseUUID(en.First("entryUUID"))
	if err != nil {
		return UUID{}, fmt.Errorf("entry %q: %w", en.DN, err)
	}
	return u, nil
}

func (r *Replicator) parentUUID(rd directory.Reader, id directory.ID) (UUID, error) {
	if id == 0 {
		return UUID{}, nil
	}
	p, err := rd.Get(id)
	if err != nil {
		return UUID{}, err
	}
	if p == nil {
		return UUID{}, fmt.Errorf("parent %d not found", id)
	}
	return r.uuidOf(p)
}

// rdnOf is the RDN an Op gives the entry: its first RDN, or its whole DN
// below the root, with attribute types in their schema names.
func (r *Replicator) rdnOf(en *directory.Entry) (string, error) {
	dn, err := ldap.ParseDN(en.DN)
	if err != nil || len(dn) == 0 {
		return "", fmt.Errorf("entry DN %q: %v", en.DN, err)
	}
	sch := r.eng.Schema()
	canon := func(rdn ldap.RDN) ldap.RDN {
		out := make(ldap.RDN, len(rdn))
		for i, a := range rdn {
			if at, ok := sch.Attribute(a.Type); ok {
				a.Type = at.Name()
			}
			out[i] = a
		}
		return out
	}
	if en.ParentID == 0 {
		out := make(ldap.DN, len(dn))
		for i := range dn {
			out[i] = canon(dn[i])
		}
		return out.String(), nil
	}
	return canon(dn[0]).String(), nil
}

func attrsOf(en *directory.Entry) []Attribute {
	out := make([]Attribute, 0, len(en.Attrs))
	for _, a := range en.Attrs {
		out = append(out, Attribute{Name: a.Name, Values: valueStrings(a.Values)})
	}
	return out
}

func valueStrings(vs [][]byte) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

func modsOf(before, after *directory.Entry) []Mod {
	var out []Mod
	for _, m := range diff(before, after) {
		k := ModAdd
		switch m.Op {
		case ldap.ModDelete:
			k = ModDelete
		case ldap.ModReplace:
			k = ModReplace
		}
		out = append(out, Mod{Kind: k, Attr: m.Attr.Name, Values: valueStrings(m.Attr.Values)})
	}
	// Removals before additions, so that a value whose spelling changed
	// ends with the new spelling.
	slices.SortStableFunc(out, func(a, b Mod) int {
		rank := func(k ModKind) int {
			if k == ModDelete {
				return 0
			}
			return 1
		}
		return rank(a.Kind) - rank(b.Kind)
	})
	return out
}

// placementOf returns what places en in the tree: its UUID, its parent's
// and its RDN.
func (r *Replicator) placementOf(tx *directory.Tx, en *directory.Entry) (u, parent UUID, rdn string, err error) {
	if u, err = r.uuidOf(en); err != nil {
		return
	}
	if parent, err = r.parentUUID(tx, en.ParentID); err != nil {
		return
	}
	rdn, err = r.rdnOf(en)
	return
}

// opsOf converts a committed-to-be local change into Ops: the change
// itself at c, and every derived write (Tx.Updates) as a modify with a
// CSN of its own.
func (r *Replicator) opsOf(tx *directory.Tx, ch *directory.Change, c CSN) ([]Op, []touched, error) {
	var ops []Op
	var touch []touched
	clock := r.clog.Clock()
	switch ch.Kind {
	case directory.ChangeAdd:
		u, p, rdn, err := r.placementOf(tx, ch.After)
		if err != nil {
			return nil, nil, err
		}
		ops = append(ops, Op{CSN: c, Kind: OpAdd, Entry: u, Parent: p, RDN: rdn, Attrs: attrsOf(ch.After)})
		touch = append(touch, touched{u, ch.After})
	case directory.ChangeModify:
		u, err := r.uuidOf(ch.After)
		if err != nil {
			return nil, nil, err
		}
		if mods := modsOf(ch.Before, ch.After); len(mods) > 0 {
			ops = append(ops, Op{CSN: c, Kind: OpModify, Entry: u, Mods: mods})
		}
		touch = append(touch, touched{u, ch.After})
	case directory.ChangeDelete:
		u, err := r.uuidOf(ch.Before)
		if err != nil {
			return nil, nil, err
		}
		ops = append(ops, Op{CSN: c, Kind: OpDelete, Entry: u})
		touch = append(touch, touched{u, nil})
		for i, d := range ch.Removed {
			du, err := r.uuidOf(d)
			if err != nil {
				return nil, nil, err
			}
			ops = append(ops, Op{CSN: c.WithSub(uint32(i + 1)), Kind: OpDelete, Entry: du})
			touch = append(touch, touched{du, nil})
		}
	case directory.ChangeModifyDN:
		u, p, rdn, err := r.placementOf(tx, ch.After)
		if err != nil {
			return nil, nil, err
		}
		ops = append(ops, Op{CSN: c, Kind: OpModRDN, Entry: u, Parent: p, RDN: rdn})
		if mods := modsOf(ch.Before, ch.After); len(mods) > 0 {
			ops = append(ops, Op{CSN: clock.Next(), Kind: OpModify, Entry: u, Mods: mods})
		}
		touch = append(touch, touched{u, ch.After})
		for _, rn := range ch.Renamed[1:] {
			d, err := tx.Get(rn.ID)
			if err != nil || d == nil {
				return nil, nil, fmt.Errorf("moved entry %d: %v", rn.ID, err)
			}
			du, err := r.uuidOf(d)
			if err != nil {
				return nil, nil, err
			}
			touch = append(touch, touched{du, d})
		}
	}
	for _, up := range tx.Updates() {
		u, err := r.uuidOf(up.After)
		if err != nil {
			return nil, nil, err
		}
		if mods := modsOf(up.Before, up.After); len(mods) > 0 {
			ops = append(ops, Op{CSN: clock.Next(), Kind: OpModify, Entry: u, Mods: mods})
		}
		touch = append(touch, touched{u, up.After})
	}
	return ops, touch, nil
}

// storedEntry is a stored entry in Materialize's form, for comparing.
func (r *Replicator) storedEntry(u UUID, en *directory.Entry) Entry {
	out := Entry{UUID: u, DN: en.DN, Glue: en.Get(GlueAttr) != nil}
	for _, a := range en.Attrs {
		out.Attrs = append(out.Attrs, Attribute{Name: a.Name, Values: valueStrings(a.Values)})
	}
	canonicalize(r.schema, out.Attrs)
	return out
}

// canonicalize sorts attributes by lower-case name and values by
// equality key, as Materialize orders them.
func canonicalize(s Schema, attrs []Attribute) {
	slices.SortFunc(attrs, func(a, b Attribute) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	for _, a := range attrs {
		lower := strings.ToLower(a.Name)
		slices.SortFunc(a.Values, func(x, y string) int {
			if c := strings.Compare(s.EqualityKey(lower, x), s.EqualityKey(lower, y)); c != 0 {
				return c
			}
			return strings.Compare(x, y)
		})
	}
}

// fingerprint is the SHA-256 of one entry in the digest's canonical form.
func fingerprint(e Entry) [32]byte {
	return sha256.Sum256(appendCanonical(nil, &e))
}

func (r *Replicator) markDirty() {
	select {
	case r.dirty <- struct{}{}:
	default:
	}
}

// Run writes resolved entries to the store whenever the state changed,
// until ctx ends.
func (r *Replicator) Run(ctx context.Context) {
	r.reinit.setContext(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.dirty:
		}
		// Let changes arriving together be resolved together.
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.cfg.Settle):
		}
		if err := r.resolve(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			r.log.Error("replication: writing resolved entries", "err", err)
			r.markDirty()
			time.Sleep(time.Second)
		}
	}
}

// resolve materialises the state and writes what differs into the store.
func (r *Replicator) resolve(ctx context.Context) error {
	if r.reinit.isIncomplete() {
		return nil // the state is not the replica's until a reinitialisation completes
	}
	start := time.Now()
	r.smu.RLock()
	seq := r.seq
	ents := r.state.Materialize()
	r.smu.RUnlock()
	dig := digest(ents)
	conflicts := 0
	for i := range ents {
		if ents[i].Glue || ents[i].ConflictDN != "" {
			conflicts++
		}
	}

	r.wmu.Lock()
	defer r.wmu.Unlock()
	skipped := false
	want := make(map[UUID]bool, len(ents))
	var put []*directory.Entry
	var putFP [][32]byte
	var putU []UUID
	newIDs := map[UUID]directory.ID{}
	idOf := func(u UUID) (directory.ID, bool) {
		if id, ok := r.ids[u]; ok {
			return id, true
		}
		id, ok := newIDs[u]
		return id, ok
	}
	for i := range ents {
		m := &ents[i]
		want[m.UUID] = true
		if r.touchedSeq[m.UUID] > seq {
			skipped = true // a local write changed it after this resolution
			continue
		}
		fp := fingerprint(*m)
		if old, ok := r.shown[m.UUID]; ok && old == fp {
			continue
		}
		var parent directory.ID
		if !m.Parent.IsRoot() {
			var ok bool
			if parent, ok = idOf(m.Parent); !ok {
				skipped = true
				continue
			}
		}
		id, ok := idOf(m.UUID)
		if !ok {
			var err error
			if id, err = r.eng.NewID(); err != nil {
				return err
			}
			newIDs[m.UUID] = id
		}
		en := &directory.Entry{ID: id, ParentID: parent, DN: m.DN}
		for _, a := range m.Attrs {
			vals := make([][]byte, len(a.Values))
			for j, v := range a.Values {
				vals[j] = []byte(v)
			}
			en.Attrs = append(en.Attrs, directory.Attr{Name: a.Name, Values: vals})
		}
		put = append(put, en)
		putFP = append(putFP, fp)
		putU = append(putU, m.UUID)
	}
	var remove []directory.ID
	var removeU []UUID
	for u, id := range r.ids {
		if want[u] {
			continue
		}
		if r.touchedSeq[u] > seq {
			skipped = true
			continue
		}
		remove = append(remove, id)
		removeU = append(removeU, u)
	}
	const chunk = 500 // entries per transaction
	for i := 0; i < len(put) || i == 0 && len(remove) > 0; i += chunk {
		p := put[min(i, len(put)):min(i+chunk, len(put))]
		var rm []directory.ID
		if i == 0 {
			rm = remove
		}
		if err := r.eng.ReplaceEntries(ctx, p, rm); err != nil {
			return err
		}
	}
	for i, u := range putU {
		r.ids[u] = put[i].ID
		r.shown[u] = putFP[i]
	}
	for _, u := range removeU {
		delete(r.ids, u)
		delete(r.shown, u)
	}
	for u, s := range r.touchedSeq {
		if s <= seq {
			delete(r.touchedSeq, u) // this resolution saw the local write
		}
	}
	r.smu.RLock()
	settled := !skipped && r.seq == seq
	r.smu.RUnlock()
	if skipped {
		r.markDirty()
	}
	r.statusMu.Lock()
	r.status = storeStatus{Digest: dig, Seq: seq, Settled: settled, Entries: len(ents), Conflicts: conflicts, At: time.Now(), Duration: time.Since(start)}
	r.statusMu.Unlock()
	if len(put)+len(remove) > 0 {
		r.log.Debug("replication: resolved", "written", len(put), "removed", len(remove), "took", time.Since(start))
	}
	return nil
}

// ErrQuarantined is returned (wrapped) by ApplyRemote when a change's CSN
// is too far ahead of the local clock: its peer must be quarantined.
var ErrQuarantined = errors.New("replication: peer quarantined")

// ApplyRemote stores and applies changes pulled from a peer, with the
// peer's generation (adopted if this replica has none yet). It returns
// the number of changes that were new here. Changes of one origin must
// come in CSN order, each batch continuing where the vector stands (the
// supplier streams them so).
func (r *Replicator) ApplyRemote(ctx context.Context, gen Generation, ops []Op) (int, error) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.smu.RLock()
	mine := r.generation
	vec := r.vector.Clone()
	r.smu.RUnlock()
	if !mine.IsZero() && mine != gen {
		return 0, fmt.Errorf("%w: generation %s, this replica's is %s", ErrReinit, gen, mine)
	}
	if r.reinit.isIncomplete() {
		return 0, fmt.Errorf("%w: this replica's data is incomplete (an interrupted reinitialisation)", ErrReinit)
	}
	self := r.Replica()
	fresh := ops[:0:0]
	for i := range ops {
		o := &ops[i]
		if o.Origin() == self || !vec[o.Origin()].Less(o.CSN) {
			continue
		}
		if err := r.clog.Clock().Observe(o.CSN); err != nil {
			return 0, fmt.Errorf("%w: %w", ErrQuarantined, err)
		}
		vec[o.Origin()] = o.CSN
		fresh = append(fresh, *o)
	}
	if len(fresh) == 0 && !mine.IsZero() {
		return 0, nil
	}
	err := r.eng.UpdateRecords(ctx, func(tx *directory.Tx) error {
		for i := range fresh {
			if err := tx.PutRecord(opKey(fresh[i].CSN), fresh[i].AppendBinary(nil)); err != nil {
				return err
			}
		}
		if mine.IsZero() {
			return tx.PutRecord(keyGeneration, gen[:])
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	r.smu.Lock()
	r.generation = gen
	for i := range fresh {
		r.state.Apply(&fresh[i])
	}
	r.vector = vec
	r.seq++
	r.smu.Unlock()
	r.applied.Add(int64(len(fresh)))
	if len(fresh) > 0 {
		r.markDirty()
	}
	return len(fresh), nil
}

// ErrReinit is returned (wrapped) when a replica cannot be brought up to
// date from the changes it lacks and must be reinitialised.
var ErrReinit = errors.New("replication: the replica must be reinitialised")

// Position returns the replica's generation and vector.
func (r *Replicator) Position() (Generation, Vector) {
	r.smu.RLock()
	defer r.smu.RUnlock()
	return r.generation, r.vector.Clone()
}

// Status is the resolution state for the admin API.
func (r *Replicator) storeStatus() storeStatus {
	r.statusMu.Lock()
	defer r.statusMu.Unlock()
	return r.status
}

// Conflicts lists the conflicts in the replicated state.
func (r *Replicator) Conflicts() []Conflict {
	r.smu.RLock()
	defer r.smu.RUnlock()
	return r.state.Conflicts()
}

// StoreDigest computes the digest of what the store holds, by reading
// every entry: it equals the state's digest once the store is settled.
func (r *Replicator) StoreDigest() ([32]byte, error) {
	parent := map[directory.ID]directory.ID{}
	var rows []depthEntry
	var ids []directory.ID
	err := r.eng.ForEachEntry(func(en *directory.Entry) error {
		u, err := ParseUUID(en.First("entryUUID"))
		if err != nil {
			return err
		}
		parent[en.ID] = en.ParentID
		rows = append(rows, depthEntry{e: r.storedEntry(u, en)})
		ids = append(ids, en.ID)
		return nil
	})
	if err != nil {
		return [32]byte{}, err
	}
	for i := range rows {
		for p := parent[ids[i]]; p != 0; p = parent[p] {
			rows[i].depth++
		}
	}
	return digest(canonicalOrder(rows)), nil
}
