package directory

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory/index"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// Rename records one entry whose DN a ModifyDN changed: the target and,
// when a subtree moved, every entry below it.
type Rename struct {
	ID     ID
	OldDN  string
	OldNDN string
	NewDN  string
	NewNDN string
}

// Change describes a write, as seen by write hooks inside its transaction.
// Before is nil for an add, After is nil for a delete.
type Change struct {
	Kind    change.Kind
	Before  *Entry
	After   *Entry
	Renamed []Rename // ModifyDN only
	Removed []*Entry // a subtree Delete: the descendants removed with Before
	// CSN is the change sequence number the write was stamped with; the
	// zero CSN when the engine has no Stamper.
	CSN change.CSN
}

// WriteHook is an overlay's view of the write path: it runs inside the
// write transaction, after the engine applied the change, so that
// everything it writes commits or fails with the change itself.
type WriteHook interface {
	Name() string
	OnChange(ctx context.Context, tx *Tx, ch *Change) error
}

// View is a read transaction as overlays see it: the entries and the
// equality indexes of one consistent snapshot.
type View struct {
	e    *Engine
	txn  *badger.Txn
	cost *SearchCost // charged one unit per value and ID read (nil: none)
}

// Reader is what overlays read through: a View, or a Tx (which reads its
// own writes).
type Reader interface {
	Schema() *schema.Schema
	Get(id ID) (*Entry, error)
	GetByNDN(ndn string) (*Entry, error)
	Lookup(attr string, value []byte) ([]ID, error)
}

// Tx is a write transaction, as hooks see it.
type Tx struct {
	View
	// added counts entries created (+) and removed (-) by the transaction,
	// applied to the engine's counter after commit.
	added int64
	// touched lists the entries written, and goneDNs the normalised DNs
	// that no longer name the entry they named (deleted or renamed), for
	// the entry cache.
	touched   []ID
	goneDNs   []string
	goneLists []string // prefixes of the posting lists written
	// resolved: the transaction stores entries as given (ReplaceEntries),
	// at DNs nothing in it checked, which takeDN must then read.
	resolved bool
	// csn is the write's change sequence number (Options.Stamper).
	csn change.CSN
	// updates are the writes hooks made with Update.
	updates []Update
	// tree is what the transaction changed of the tree, for the cached
	// subtree scopes (subtree.go).
	tree treeDelta
	// bytes estimates what the transaction writes: its entry records and
	// index keys, for the free-space guard.
	bytes int64
}

// Schema returns the engine's schema.
func (v *View) Schema() *schema.Schema { return v.e.schema }

// Get loads an entry by ID; it returns nil, nil if there is none.
func (v *View) Get(id ID) (*Entry, error) { return v.charged(v.e.getEntry(v.txn, id)) }

// charged charges v's cost for en's values.
func (v *View) charged(en *Entry, err error) (*Entry, error) {
	if en != nil && v.cost != nil {
		n := 1
		for _, a := range en.Attrs {
			n += len(a.Values)
		}
		v.cost.charge(n)
	}
	return en, err
}

// Children returns the IDs of entry id's children, in ID order.
func (v *View) Children(id ID) ([]ID, error) { return scanIDs(v.txn, childPrefix(id), nil) }

// Sealer returns the engine's sealer (seal.go), for overlays that store
// attribute values themselves: nil without an encryption key.
func (v *View) Sealer() *Sealer { return v.e.sealer }

// GetByNDN loads an entry by normalised DN; nil, nil if there is none.
func (v *View) GetByNDN(ndn string) (*Entry, error) {
	id, err := lookupDN(v.txn, ndn)
	if err != nil || id == 0 {
		return nil, err
	}
	return v.charged(v.e.getEntry(v.txn, id))
}

// Lookup returns the IDs whose attr holds value (not yet normalised), in
// ascending order, through attr's equality index, which must exist.
func (v *View) Lookup(attr string, value []byte) ([]ID, error) {
	at, _ := v.e.schema.Attribute(attr)
	a := v.e.indexes.Lookup(at)
	if !a.Has(index.Equality) {
		return nil, fmt.Errorf("directory: %s has no equality index", attr)
	}
	norm, err := at.Normalize(value)
	if err != nil {
		return nil, nil // a value that cannot be normalised matches nothing
	}
	ids, err := scanIDs(v.txn, a.EqualityPrefix(norm), nil)
	v.cost.charge(len(ids) + 1)
	return ids, err
}

// Update writes after over before (same ID), maintaining the indexes. It
// does not touch modifyTimestamp: hooks call it for derived attributes.
func (tx *Tx) Update(before, after *Entry) error {
	if before.ID != after.ID {
		return errors.New("directory: Update with different IDs")
	}
	if err := tx.e.putEntry(tx, before, after); err != nil {
		return err
	}
	tx.updates = append(tx.updates, Update{Before: before, After: after})
	return nil
}

func (e *Engine) getEntry(txn *badger.Txn, id ID) (*Entry, error) {
	item, err := txn.Get(entryKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var en *Entry
	err = item.Value(func(v []byte) error {
		var err error
		en, err = e.decodeEntry(id, v)
		return err
	})
	return en, err
}

func lookupDN(txn *badger.Txn, ndn string) (ID, error) {
	item, err := txn.Get(dnKey(ndn))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var id ID
	err = item.Value(func(v []byte) error {
		if len(v) != 8 {
			return errCorrupt
		}
		id = readID(v)
		return nil
	})
	return id, err
}

// scanIDs appends the IDs of every key under prefix (which must be followed
// by exactly an 8-byte ID) to dst, in ascending ID order.
func scanIDs(txn *badger.Txn, prefix []byte, dst []ID) ([]ID, error) {
	index.Reader{Txn: txn}.Scan(prefix, func(id uint64) bool {
		dst = append(dst, ID(id))
		return true
	})
	return dst, nil
}

// hasChildren reports whether id has at least one child.
func hasChildren(txn *badger.Txn, id ID) bool {
	opt := badger.DefaultIteratorOptions
	opt.PrefetchValues = false
	opt.Prefix = childPrefix(id)
	it := txn.NewIterator(opt)
	defer it.Close()
	it.Rewind()
	return it.Valid()
}

// indexKeys returns the index keys of an entry under cfg.
func (e *Engine) indexKeys(cfg *index.Config, en *Entry) map[string]struct{} {
	return e.indexKeysOf(cfg, en, nil)
}

// indexKeysOf returns the index keys of an entry under cfg, only those of
// the indexes in only when only is not nil.
func (e *Engine) indexKeysOf(cfg *index.Config, en *Entry, only map[*index.Attribute]bool) map[string]struct{} {
	if en == nil {
		return nil
	}
	keys := map[string]struct{}{}
	for _, k := range e.appendIndexKeys(nil, cfg, en, only) {
		keys[string(k)] = struct{}{}
	}
	return keys
}

// changedIndexes returns the indexes of cfg fed by an attribute whose
// values differ between before and after, two states of one entry: only
// their keys can differ. It returns an empty set when no indexed
// attribute changed (a modify of description, say).
func (e *Engine) changedIndexes(cfg *index.Config, before, after *Entry) map[*index.Attribute]bool {
	out := map[*index.Attribute]bool{}
	note := func(name string) {
		if at, ok := e.schema.Attribute(baseName(name)); ok {
			if ia := cfg.Lookup(at); ia != nil {
				out[ia] = true
			}
		}
	}
	for _, a := range after.Attrs {
		if b := findAttr(before, a.Name); b == nil || !slices.EqualFunc(b.Values, a.Values, bytes.Equal) {
			note(a.Name)
		}
	}
	for _, b := range before.Attrs {
		if findAttr(after, b.Name) == nil {
			note(b.Name)
		}
	}
	return out
}

// findAttr returns en's attribute named name (with its options, without
// regard to case), or nil.
func findAttr(en *Entry, name string) *Attr {
	for i := range en.Attrs {
		if strings.EqualFold(en.Attrs[i].Name, name) {
			return &en.Attrs[i]
		}
	}
	return nil
}

// appendIndexKeys appends to dst the index keys of an entry under cfg
// (only those of the indexes in only, when only is not nil); a key may
// appear more than once (two values with a common gram).
func (e *Engine) appendIndexKeys(dst [][]byte, cfg *index.Config, en *Entry, only map[*index.Attribute]bool) [][]byte {
	for _, a := range en.Attrs {
		at, ok := e.schema.Attribute(baseName(a.Name))
		if !ok {
			continue
		}
		ia := cfg.Lookup(at)
		if ia == nil || (only != nil && !only[ia]) {
			continue
		}
		values := a.Values
		if ia.Name() == "objectclass" {
			values = e.withSuperclasses(values)
		}
		dst = ia.Keys(dst, values, uint64(en.ID))
	}
	return dst
}

// withSuperclasses adds to objectClass values the names of all their
// superclasses, so that the index answers (objectClass=person) for an
// entry that lists only inetOrgPerson, as filter evaluation does.
func (e *Engine) withSuperclasses(values [][]byte) [][]byte {
	out := append([][]byte(nil), values...)
	for _, v := range values {
		oc, ok := e.schema.ObjectClass(string(v))
		if !ok {
			continue
		}
		for _, sup := range oc.Superclasses()[1:] {
			out = append(out, []byte(sup.Name()))
		}
	}
	return out
}

// putEntry writes after (never nil) and brings the DN, child and equality
// indexes from before's state (nil for a new entry) to after's.
func (e *Engine) putEntry(tx *Tx, before, after *Entry) error {
	txn := tx.txn
	tx.touched = append(tx.touched, after.ID)
	rec, err := e.encodeEntry(after)
	if err != nil {
		return err
	}
	if err := txn.Set(entryKey(after.ID), rec); err != nil {
		return err
	}
	tx.bytes += int64(len(rec))
	switch {
	case before == nil:
		tx.tree.added = append(tx.tree.added, treeAdd{id: after.ID, parent: after.ParentID, ndn: after.NDN})
	case before.NDN != after.NDN || before.ParentID != after.ParentID:
		tx.tree.reset = true
	}
	if before == nil || before.NDN != after.NDN {
		if before != nil {
			if err := e.leaveDN(tx, before.NDN, before.ID); err != nil {
				return err
			}
		}
		if err := e.takeDN(tx, after.NDN, after.ID); err != nil {
			return err
		}
	}
	if before == nil || before.ParentID != after.ParentID {
		if before != nil {
			if err := txn.Delete(childKey(before.ParentID, before.ID)); err != nil {
				return err
			}
		}
		if err := txn.Set(childKey(after.ParentID, after.ID), nil); err != nil {
			return err
		}
	}
	// A change to an entry rewrites only the indexes its changed
	// attributes feed (every attribute that feeds one, since two
	// attributes, cn and cn;lang-en, can give the same key).
	var only map[*index.Attribute]bool
	if before != nil && before.ID == after.ID {
		if only = e.changedIndexes(e.indexes, before, after); len(only) == 0 {
			return nil
		}
		// An index of the values themselves follows the values that
		// changed: a group losing one member of 100,000 normalises one
		// DN, not 200,000.
		for ia := range only {
			del, set, ok := e.valueKeyChanges(ia, before, after)
			if !ok {
				continue
			}
			delete(only, ia)
			for _, k := range del {
				if err := txn.Delete(k); err != nil {
					return err
				}
				tx.listChanged(string(k))
			}
			for _, k := range set {
				tx.bytes += int64(len(k))
				if err := txn.Set(k, nil); err != nil {
					return err
				}
				tx.listChanged(string(k))
			}
		}
		if len(only) == 0 {
			return nil
		}
	}
	oldKeys, newKeys := e.indexKeysOf(e.indexes, before, only), e.indexKeysOf(e.indexes, after, only)
	for k := range oldKeys {
		if _, keep := newKeys[k]; !keep {
			if err := txn.Delete([]byte(k)); err != nil {
				return err
			}
			tx.listChanged(k)
		}
	}
	for k := range newKeys {
		if _, had := oldKeys[k]; !had {
			tx.bytes += int64(len(k))
			if err := txn.Set([]byte(k), nil); err != nil {
				return err
			}
			tx.listChanged(k)
		}
	}
	return nil
}

// valueKeyChanges returns the keys of index ia to delete and to add when
// an entry goes from before to after (one ID), computed from the values
// that differ alone, when that gives the same result as comparing every
// key: ia holds presence and equality keys only (not objectClass's,
// whose superclasses share keys), and at most one attribute (one name
// with its options) feeds it in each state. Then a value that stays
// keeps its key, and a value that went takes its key with it, since an
// attribute holds no two values equal under its equality rule (writes
// refuse them, the merge keeps one).
func (e *Engine) valueKeyChanges(ia *index.Attribute, before, after *Entry) (del, set [][]byte, ok bool) {
	if ia.Kinds&^(index.Presence|index.Equality) != 0 || ia.Name() == "objectclass" {
		return nil, nil, false
	}
	was, ok := e.indexedValues(ia, before)
	if !ok {
		return nil, nil, false
	}
	is, ok := e.indexedValues(ia, after)
	if !ok {
		return nil, nil, false
	}
	gone, came := ValueChanges(was, is)
	id := uint64(after.ID)
	presence := binary.BigEndian.AppendUint64(ia.PresencePrefix(), id)
	keys := func(values [][]byte) map[string][]byte {
		out := map[string][]byte{}
		for _, k := range ia.Keys(nil, values, id) {
			if !bytes.Equal(k, presence) {
				out[string(k)] = k
			}
		}
		return out
	}
	goneKeys, cameKeys := keys(gone), keys(came)
	for s, k := range goneKeys {
		if _, kept := cameKeys[s]; !kept {
			del = append(del, k)
		}
	}
	for s, k := range cameKeys {
		if _, had := goneKeys[s]; !had {
			set = append(set, k)
		}
	}
	if ia.Kinds&index.Presence != 0 {
		switch {
		case len(was) > 0 && len(is) == 0:
			del = append(del, presence)
		case len(was) == 0 && len(is) > 0:
			set = append(set, presence)
		}
	}
	return del, set, true
}

// indexedValues returns the values of en's attribute that feeds ia, and
// false if more than one does.
func (e *Engine) indexedValues(ia *index.Attribute, en *Entry) ([][]byte, bool) {
	var values [][]byte
	found := false
	for _, a := range en.Attrs {
		at, ok := e.schema.Attribute(baseName(a.Name))
		if !ok || e.indexes.Lookup(at) != ia {
			continue
		}
		if found {
			return nil, false
		}
		values, found = a.Values, true
	}
	return values, true
}

// ValueChanges returns the values of was that is lacks and those of is
// that was lacks, compared as bytes, for two states of one attribute
// (neither list holds a value twice). A
// modify keeps the order of the values it does not touch, so the two
// lists are walked side by side, a value added or removed here and there
// skipped; the values left over (and those skipped, which a reordering
// may have moved) are then compared as sets, which are small unless the
// order changed.
func ValueChanges(was, is [][]byte) (gone, came [][]byte) {
	var skippedWas, skippedIs [][]byte
	i, j := 0, 0
	for i < len(was) && j < len(is) {
		switch {
		case bytes.Equal(was[i], is[j]):
			i, j = i+1, j+1
		case i+1 < len(was) && bytes.Equal(was[i+1], is[j]):
			skippedWas = append(skippedWas, was[i])
			i++
		case j+1 < len(is) && bytes.Equal(was[i], is[j+1]):
			skippedIs = append(skippedIs, is[j])
			j++
		default:
			skippedWas, skippedIs = append(skippedWas, was[i]), append(skippedIs, is[j])
			i, j = i+1, j+1
		}
	}
	skippedWas, skippedIs = append(skippedWas, was[i:]...), append(skippedIs, is[j:]...)
	// A value matched above is in both lists, and no other value equals
	// it; a skipped one is in the other list only among its skipped ones.
	in := func(set [][]byte) map[string]bool {
		m := make(map[string]bool, len(set))
		for _, v := range set {
			m[string(v)] = true
		}
		return m
	}
	inWas, inIs := in(skippedWas), in(skippedIs)
	for _, v := range skippedWas {
		if !inIs[string(v)] {
			gone = append(gone, v)
		}
	}
	for _, v := range skippedIs {
		if !inWas[string(v)] {
			came = append(came, v)
		}
	}
	return gone, came
}

// listChanged notes that index key k was added or deleted: the posting
// list it belongs to (k without its ID) must leave the cache.
func (tx *Tx) listChanged(k string) {
	tx.goneLists = append(tx.goneLists, k[:len(k)-8])
}

// removeEntry deletes en and all its index keys.
func (e *Engine) removeEntry(tx *Tx, en *Entry) error {
	txn := tx.txn
	tx.touched = append(tx.touched, en.ID)
	tx.tree.removed = append(tx.tree.removed, treeRemove{id: en.ID, parent: en.ParentID})
	for k := range e.indexKeys(e.indexes, en) {
		if err := txn.Delete([]byte(k)); err != nil {
			return err
		}
		tx.listChanged(k)
	}
	if err := txn.Delete(childKey(en.ParentID, en.ID)); err != nil {
		return err
	}
	if err := e.leaveDN(tx, en.NDN, en.ID); err != nil {
		return err
	}
	return txn.Delete(entryKey(en.ID))
}

// takeDN points the DN key of ndn at id. Two entries have one DN only
// when ReplaceEntries stores an entry where replication's resolution put
// it while a local write, which that resolution had not seen, stored
// another there (the next resolution renames one of them). The entry
// that held the key is then recorded as displaced, so that it gets the
// key back when id leaves ndn, instead of being left without one: found
// by ID, never by name.
func (e *Engine) takeDN(tx *Tx, ndn string, id ID) error {
	if !tx.resolved {
		// The write path found the DN free in this transaction.
		return tx.txn.Set(dnKey(ndn), appendID(nil, id))
	}
	holder, err := lookupDN(tx.txn, ndn)
	if err != nil {
		return err
	}
	if holder != 0 && holder != id {
		h, err := e.getEntry(tx.txn, holder)
		if err != nil {
			return err
		}
		if h != nil && h.NDN == ndn {
			e.displaced.Store(true) // before the record commits
			if err := tx.txn.Set(displacedKey(ndn, holder), nil); err != nil {
				return err
			}
		}
		tx.goneDNs = append(tx.goneDNs, ndn)
	}
	return tx.txn.Set(dnKey(ndn), appendID(nil, id))
}

// leaveDN is entry id leaving ndn: the DN key goes if it names id, to an
// entry displaced from ndn (takeDN) that still has that DN if there is
// one; if the key names another entry, id was displaced and is no more.
func (e *Engine) leaveDN(tx *Tx, ndn string, id ID) error {
	holder, err := lookupDN(tx.txn, ndn)
	if err != nil {
		return err
	}
	if holder != id {
		if e.displaced.Load() {
			return tx.txn.Delete(displacedKey(ndn, id))
		}
		return nil
	}
	tx.goneDNs = append(tx.goneDNs, ndn)
	if e.displaced.Load() {
		heir, err := e.takeDisplaced(tx, ndn, id)
		if err != nil || heir != 0 {
			return err
		}
	}
	return tx.txn.Delete(dnKey(ndn))
}

// takeDisplaced gives the DN key of ndn to the first entry displaced from
// it that still has it (and returns its ID, 0 if none), deleting the
// records it looked at on the way.
func (e *Engine) takeDisplaced(tx *Tx, ndn string, leaving ID) (ID, error) {
	prefix := displacedPrefix(ndn)
	opt := badger.DefaultIteratorOptions
	opt.PrefetchValues = false
	opt.Prefix = prefix
	var seen []ID
	it := tx.txn.NewIterator(opt)
	for it.Rewind(); it.Valid(); it.Next() {
		if k := it.Item().Key(); len(k) == len(prefix)+8 {
			seen = append(seen, readID(k[len(prefix):]))
		}
	}
	it.Close()
	for _, cand := range seen {
		if err := tx.txn.Delete(displacedKey(ndn, cand)); err != nil {
			return 0, err
		}
		if cand == leaving {
			continue
		}
		en, err := e.getEntry(tx.txn, cand)
		if err != nil {
			return 0, err
		}
		if en != nil && en.NDN == ndn {
			return cand, tx.txn.Set(dnKey(ndn), appendID(nil, cand))
		}
	}
	return 0, nil
}

// findDisplaced notes whether the store holds displaced entries.
func (e *Engine) findDisplaced() error {
	return e.db().View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.PrefetchValues = false
		opt.Prefix = keyDisplaced
		it := txn.NewIterator(opt)
		defer it.Close()
		it.Rewind()
		e.displaced.Store(it.Valid())
		return nil
	})
}

// update runs fn in a write transaction and commits it, retrying when a
// concurrent transaction conflicted. Hooks see the change through fn's
// return value.
func (e *Engine) update(ctx context.Context, fn func(tx *Tx) (*Change, error)) (*Change, error) {
	const attempts = 16
	if err := e.beginWrite(); err != nil {
		return nil, err
	}
	defer e.endWrite()
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		tx := &Tx{View: View{e: e, txn: e.db().NewTransaction(true)}}
		if e.stamper != nil {
			tx.csn = e.stamper.Stamp()
		}
		ch, err := fn(tx)
		if err == nil && ch != nil {
			ch.CSN = tx.csn
			for _, h := range e.hooks {
				if err = h.OnChange(ctx, tx, ch); err != nil {
					err = fmt.Errorf("overlay %s: %w", h.Name(), err)
					break
				}
			}
		}
		if err == nil {
			// Refused here, before Badger writes a byte: on a full disk
			// its memory-mapped files fault instead of failing.
			err = e.space.admit(tx.bytes)
		}
		if err != nil {
			tx.txn.Discard()
			e.settle(tx, nil)
			return nil, mapTxnError(err)
		}
		e.cache.writeBegin()
		e.trees.writeBegin(&tx.tree)
		err = tx.txn.Commit()
		e.cache.writeEnd(tx.touched, tx.goneDNs, tx.goneLists)
		e.trees.writeEnd(&tx.tree, err == nil)
		if err != nil {
			e.settle(tx, nil)
		}
		if errors.Is(err, badger.ErrConflict) && i < attempts {
			continue
		}
		if err != nil {
			return nil, mapTxnError(err)
		}
		e.entries.Add(tx.added)
		e.writes.Add(1)
		e.settle(tx, ch)
		return ch, nil
	}
}

// settle tells the Stamper how the transaction that used tx.csn ended.
func (e *Engine) settle(tx *Tx, ch *Change) {
	if e.stamper != nil {
		e.stamper.Settle(tx.csn, ch)
	}
}

func mapTxnError(err error) error {
	var le *ldap.Error
	switch {
	case errors.As(err, &le):
		return err
	case errors.Is(err, badger.ErrTxnTooBig):
		return &ldap.Error{Code: ldap.AdminLimitExceeded, Message: "operation touches too many entries for one transaction"}
	case errors.Is(err, badger.ErrConflict):
		return &ldap.Error{Code: ldap.Busy, Message: "too many concurrent changes to the same entries; retry"}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case isDiskFull(err):
		return &ldap.Error{Code: ldap.UnwillingToPerform, Message: "the store's disk is full: the write was not made"}
	}
	return &ldap.Error{Code: ldap.Other, Message: err.Error()}
}

// matchedDN returns the DN of the deepest existing ancestor of dn, for the
// matchedDN field of a noSuchObject result (RFC 4511 4.1.9).
func (e *Engine) matchedDN(txn *badger.Txn, dn ldap.DN) string {
	for p := dn.Parent(); len(p) > 0; p = p.Parent() {
		n, err := e.schema.NormalizeDN(p)
		if err != nil {
			return ""
		}
		if id, _ := lookupDN(txn, n); id != 0 {
			if en, _ := e.getEntry(txn, id); en != nil {
				return en.DN
			}
			return p.String()
		}
	}
	return ""
}

func noSuchObject(matched string) error {
	return &ldap.Error{Code: ldap.NoSuchObject, MatchedDN: matched, Message: "no such object"}
}

// descendants returns the IDs of every entry below id, in ascending order.
func descendants(txn *badger.Txn, id ID) ([]ID, error) {
	var out []ID
	stack := []ID{id}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		start := len(out)
		var err error
		out, err = scanIDs(txn, childPrefix(top), out)
		if err != nil {
			return nil, err
		}
		stack = append(stack, out[start:]...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}
