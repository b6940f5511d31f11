package directory

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory/password"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// Mod is one modification of a Modify.
type Mod struct {
	Op   change.ModOp
	Attr Attr
}

// WriteOptions change how a write is done.
type WriteOptions struct {
	// KeepOperational (Add) keeps operational attributes that the input
	// already carries: the offline import and replication use it.
	KeepOperational bool
	// Assertion (RFC 4528) makes the write conditional: it happens only if
	// the target entry (for Add, the entry being added) matches the
	// filter, and fails with assertionFailed (122) otherwise.
	Assertion *ldap.Filter
	// Subtree (Delete) removes the entry with everything below it, in one
	// transaction (the tree delete control).
	Subtree bool
}

// checkAssertion tests opt.Assertion against the target entry.
func (e *Engine) checkAssertion(opt WriteOptions, en *Entry) error {
	if opt.Assertion == nil || e.Match(opt.Assertion, en) {
		return nil
	}
	return &ldap.Error{Code: ldap.AssertionFailed, Message: "assertion control: the entry does not match"}
}

// generalizedTime formats t as the GeneralizedTime of createTimestamp.
func generalizedTime(t time.Time) []byte {
	return []byte(t.UTC().Format("20060102150405Z"))
}

func newUUID() []byte {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		panic("directory: crypto/rand failed: " + err.Error())
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Appendf(nil, "%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// validate checks v against the attribute's syntax.
func validate(at *schema.AttributeType, v []byte) error {
	if at.Syntax == nil || at.Syntax.Validate == nil {
		return nil
	}
	return at.Syntax.Validate(v)
}

// hashPasswords hashes the cleartext values of userPassword, as OpenLDAP's
// ppolicy_hash_cleartext does: a cleartext password never reaches the
// disk. Values that already carry a known {SCHEME} (imports) are kept.
// Hashing uses the engine's password.Hasher (Options.Passwords), so it
// waits for a slot of its bounded pool, and ends with ctx.
func (e *Engine) hashPasswords(ctx context.Context, name string, vals [][]byte) ([][]byte, error) {
	if !strings.EqualFold(baseName(name), "userPassword") {
		return vals, nil
	}
	out := make([][]byte, len(vals))
	for i, v := range vals {
		if password.IsHashed(v) {
			out[i] = v
			continue
		}
		h, err := e.passwords.Hash(ctx, v)
		if err != nil {
			if errors.Is(err, password.ErrBusy) {
				return nil, &ldap.Error{Code: ldap.Busy, Message: "userPassword: too many password hashes in progress"}
			}
			return nil, fmt.Errorf("userPassword: %w", err)
		}
		out[i] = h
	}
	return out, nil
}

// resolveAttrs maps client attribute descriptions to their canonical form,
// merges repeated types, and checks syntax and duplicate values. Unless
// keepOperational is set, NO-USER-MODIFICATION attributes are refused with
// constraintViolation (19), as slapd does.
func (e *Engine) resolveAttrs(in []Attr, keepOperational bool) ([]Attr, error) {
	out := make([]Attr, 0, len(in))
	index := map[string]int{}
	for _, a := range in {
		at, name, err := e.resolveName(a.Name)
		if err != nil {
			return nil, err
		}
		if len(a.Values) == 0 {
			return nil, &ldap.Error{Code: ldap.ProtocolError, Message: a.Name + ": no values given"}
		}
		if at.NoUserModification && !keepOperational {
			return nil, &ldap.Error{Code: ldap.ConstraintViolation, Message: a.Name + ": no user modification allowed"}
		}
		for _, v := range a.Values {
			if err := validate(at, v); err != nil {
				return nil, &ldap.Error{Code: ldap.InvalidAttributeSyntax, Message: fmt.Sprintf("%s: value #%d invalid per syntax: %v", a.Name, 0, err)}
			}
		}
		if i, ok := index[strings.ToLower(name)]; ok {
			out[i].Values = append(out[i].Values, a.Values...)
		} else {
			index[strings.ToLower(name)] = len(out)
			out = append(out, Attr{Name: name, Values: append([][]byte(nil), a.Values...)})
		}
	}
	for _, a := range out {
		at, _, _ := e.resolveName(a.Name)
		if err := checkDuplicates(at, a); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// resolveName resolves an attribute description to its type and canonical
// name: the schema's primary name plus lower-cased options.
func (e *Engine) resolveName(desc string) (*schema.AttributeType, string, error) {
	if !schema.ValidDescription(desc) {
		return nil, "", &ldap.Error{Code: ldap.UndefinedAttributeType, Message: desc + ": invalid attribute description"}
	}
	base, opts := schema.SplitOptions(desc)
	at, ok := e.schema.Attribute(base)
	if !ok {
		return nil, "", &ldap.Error{Code: ldap.UndefinedAttributeType, Message: base + ": attribute type undefined"}
	}
	name := at.Name()
	for _, o := range opts {
		name += ";" + strings.ToLower(o)
	}
	return at, name, nil
}

func checkDuplicates(at *schema.AttributeType, a Attr) error {
	if at.Equality == nil {
		for i := range a.Values {
			for j := 0; j < i; j++ {
				if bytes.Equal(a.Values[i], a.Values[j]) {
					return &ldap.Error{Code: ldap.AttributeOrValueExists, Message: a.Name + ": duplicate value"}
				}
			}
		}
		return nil
	}
	seen := make(map[string]struct{}, len(a.Values))
	for _, v := range a.Values {
		n, err := at.Normalize(v)
		if err != nil {
			return &ldap.Error{Code: ldap.InvalidAttributeSyntax, Message: a.Name + ": " + err.Error()}
		}
		if _, dup := seen[string(n)]; dup {
			return &ldap.Error{Code: ldap.AttributeOrValueExists, Message: a.Name + ": duplicate value"}
		}
		seen[string(n)] = struct{}{}
	}
	return nil
}

// check runs the schema check on an entry's user attributes.
func (e *Engine) check(dn ldap.DN, attrs []Attr) error {
	var rdn ldap.RDN
	if len(dn) > 0 {
		rdn = dn[0]
	}
	sattrs := make([]schema.Attr, 0, len(attrs))
	var ocs [][]byte
	for _, a := range attrs {
		base, _ := schema.SplitOptions(a.Name)
		at, ok := e.schema.Attribute(base)
		if !ok {
			return &ldap.Error{Code: ldap.UndefinedAttributeType, Message: base + ": attribute type undefined"}
		}
		if strings.EqualFold(at.Name(), "objectClass") {
			ocs = append(ocs, a.Values...)
		}
		_, opts := schema.SplitOptions(a.Name)
		sattrs = append(sattrs, schema.Attr{Type: at, Options: opts, Values: a.Values})
	}
	if err := e.schema.Check(rdn, ocs, sattrs); err != nil {
		return err
	}
	return nil
}

// prepareAdd checks a new entry against the schema and brings its
// attributes to canonical form: everything Add does before it needs the
// store.
func (e *Engine) prepareAdd(ctx context.Context, dn string, attrs []Attr, opt WriteOptions) (ldap.DN, string, []Attr, error) {
	parsed, ndn, err := e.normalizeDN(dn)
	if err != nil {
		return nil, "", nil, err
	}
	attrs, err = e.resolveAttrs(attrs, opt.KeepOperational)
	if err != nil {
		return nil, "", nil, err
	}
	for i := range attrs {
		if attrs[i].Values, err = e.hashPasswords(ctx, attrs[i].Name, attrs[i].Values); err != nil {
			return nil, "", nil, err
		}
	}
	if err := e.check(parsed, userAttrs(e.schema, attrs)); err != nil {
		return nil, "", nil, err
	}
	return parsed, ndn, attrs, nil
}

// Add creates an entry (RFC 4511 4.7).
func (e *Engine) Add(ctx context.Context, dn string, attrs []Attr, opt WriteOptions) (*Change, error) {
	parsed, ndn, attrs, err := e.prepareAdd(ctx, dn, attrs, opt)
	if err != nil {
		return nil, err
	}
	if err := e.CheckCopyWrite(ndn, false, ""); err != nil {
		return nil, err
	}
	return e.update(ctx, func(tx *Tx) (*Change, error) {
		if !e.inSuffix(ndn) {
			return nil, noSuchObject("")
		}
		if id, err := lookupDN(tx.txn, ndn); err != nil {
			return nil, err
		} else if id != 0 {
			return nil, &ldap.Error{Code: ldap.EntryAlreadyExists, Message: "entry already exists"}
		}
		var parentID ID
		if ndn != e.nsuffix {
			pn, err := e.schema.NormalizeDN(parsed.Parent())
			if err != nil {
				return nil, err
			}
			if parentID, err = lookupDN(tx.txn, pn); err != nil {
				return nil, err
			}
			if parentID == 0 {
				return nil, noSuchObject(e.matchedDN(tx.txn, parsed))
			}
		}
		id, err := e.nextID()
		if err != nil {
			return nil, err
		}
		en := &Entry{ID: id, ParentID: parentID, DN: parsed.String(), NDN: ndn, Attrs: attrs}
		e.stampCreate(ctx, en, opt.KeepOperational, tx.csn)
		if err := e.checkAssertion(opt, en); err != nil {
			return nil, err
		}
		if err := e.putEntry(tx, nil, en); err != nil {
			return nil, err
		}
		tx.added++
		return &Change{Kind: change.Add, After: en}, nil
	})
}

func (e *Engine) nextID() (ID, error) {
	for {
		n, err := e.ids.Next()
		if err != nil {
			return 0, err
		}
		if n != 0 {
			return ID(n), nil
		}
	}
}

// userAttrs returns the attributes that are not operational.
func userAttrs(s *schema.Schema, attrs []Attr) []Attr {
	out := make([]Attr, 0, len(attrs))
	for _, a := range attrs {
		base, _ := schema.SplitOptions(a.Name)
		if at, ok := s.Attribute(base); ok && at.IsOperational() {
			continue
		}
		out = append(out, a)
	}
	return out
}

func (e *Engine) stampCreate(ctx context.Context, en *Entry, keep bool, csn change.CSN) {
	now := generalizedTime(e.now())
	who := []byte(IdentityFrom(ctx))
	set := func(name string, v []byte) {
		if keep && en.Get(name) != nil {
			return
		}
		en.Set(name, [][]byte{v})
	}
	set("entryUUID", newUUID())
	set("createTimestamp", now)
	set("modifyTimestamp", now)
	set("creatorsName", who)
	set("modifiersName", who)
	if !csn.IsZero() {
		set("entryCSN", csn.AppendText(nil))
	}
	if sc, err := e.schema.StructuralClass(en.Get("objectClass")); err == nil && sc != nil {
		set("structuralObjectClass", []byte(sc.Name()))
	}
}

func (e *Engine) stampModify(ctx context.Context, en *Entry, csn change.CSN) {
	en.Set("modifyTimestamp", [][]byte{generalizedTime(e.now())})
	en.Set("modifiersName", [][]byte{[]byte(IdentityFrom(ctx))})
	if !csn.IsZero() {
		en.Set("entryCSN", [][]byte{csn.AppendText(nil)})
	}
}

// loadByDN resolves dn inside txn, returning noSuchObject with matchedDN.
func (e *Engine) loadByDN(tx *Tx, parsed ldap.DN, ndn string) (*Entry, error) {
	id, err := lookupDN(tx.txn, ndn)
	if err != nil {
		return nil, err
	}
	if id == 0 {
		return nil, noSuchObject(e.matchedDN(tx.txn, parsed))
	}
	en, err := e.getEntry(tx.txn, id)
	if err != nil {
		return nil, err
	}
	if en == nil {
		return nil, noSuchObject(e.matchedDN(tx.txn, parsed))
	}
	return en, nil
}

// Delete removes a leaf entry (RFC 4511 4.8), or with opt.Subtree the
// entry and its whole subtree in one transaction; the Change names the
// removed descendants in Removed.
func (e *Engine) Delete(ctx context.Context, dn string, opt WriteOptions) (*Change, error) {
	parsed, ndn, err := e.normalizeDN(dn)
	if err != nil {
		return nil, err
	}
	if err := e.CheckCopyWrite(ndn, true, ""); err != nil {
		return nil, err
	}
	return e.update(ctx, func(tx *Tx) (*Change, error) {
		en, err := e.loadByDN(tx, parsed, ndn)
		if err != nil {
			return nil, err
		}
		if err := e.checkAssertion(opt, en); err != nil {
			return nil, err
		}
		ch := &Change{Kind: change.Delete, Before: en}
		if hasChildren(tx.txn, en.ID) {
			if !opt.Subtree {
				return nil, &ldap.Error{Code: ldap.NotAllowedOnNonLeaf, Message: "subordinate objects must be deleted first"}
			}
			subs, err := descendants(tx.txn, en.ID)
			if err != nil {
				return nil, err
			}
			for _, id := range subs {
				d, err := e.getEntry(tx.txn, id)
				if err != nil {
					return nil, err
				}
				if d == nil {
					continue
				}
				if err := e.removeEntry(tx, d); err != nil {
					return nil, err
				}
				tx.added--
				ch.Removed = append(ch.Removed, d)
			}
		}
		if err := e.removeEntry(tx, en); err != nil {
			return nil, err
		}
		tx.added--
		return ch, nil
	})
}

// Modify applies modifications atomically (RFC 4511 4.6, RFC 4525).
func (e *Engine) Modify(ctx context.Context, dn string, mods []Mod, opt WriteOptions) (*Change, error) {
	parsed, ndn, err := e.normalizeDN(dn)
	if err != nil {
		return nil, err
	}
	if err := e.CheckCopyWrite(ndn, false, ""); err != nil {
		return nil, err
	}
	// Resolve names and check syntax before touching the store.
	type resolved struct {
		op   change.ModOp
		at   *schema.AttributeType
		name string
		vals [][]byte
	}
	rs := make([]resolved, 0, len(mods))
	for _, m := range mods {
		at, name, err := e.resolveName(m.Attr.Name)
		if err != nil {
			return nil, err
		}
		if at.NoUserModification {
			return nil, &ldap.Error{Code: ldap.ConstraintViolation, Message: m.Attr.Name + ": no user modification allowed"}
		}
		for _, v := range m.Attr.Values {
			if m.Op == change.ModDelete && at.Equality != nil {
				if _, err := at.Normalize(v); err != nil {
					return nil, &ldap.Error{Code: ldap.InvalidAttributeSyntax, Message: m.Attr.Name + ": " + err.Error()}
				}
				continue
			}
			if err := validate(at, v); err != nil {
				return nil, &ldap.Error{Code: ldap.InvalidAttributeSyntax, Message: m.Attr.Name + ": value invalid per syntax: " + err.Error()}
			}
		}
		switch m.Op {
		case change.ModAdd:
			if len(m.Attr.Values) == 0 {
				return nil, &ldap.Error{Code: ldap.ProtocolError, Message: m.Attr.Name + ": modify/add with no values"}
			}
		case change.ModIncrement:
			if len(m.Attr.Values) != 1 {
				return nil, &ldap.Error{Code: ldap.ProtocolError, Message: m.Attr.Name + ": increment needs exactly one value"}
			}
			if _, err := strconv.ParseInt(string(m.Attr.Values[0]), 10, 64); err != nil {
				return nil, &ldap.Error{Code: ldap.InvalidAttributeSyntax, Message: m.Attr.Name + ": increment value is not an integer"}
			}
		}
		if err := checkDuplicates(at, Attr{Name: name, Values: m.Attr.Values}); err != nil {
			return nil, err
		}
		vals := m.Attr.Values
		if m.Op == change.ModAdd || m.Op == change.ModReplace {
			if vals, err = e.hashPasswords(ctx, name, vals); err != nil {
				return nil, err
			}
		}
		rs = append(rs, resolved{m.Op, at, name, vals})
	}
	return e.update(ctx, func(tx *Tx) (*Change, error) {
		before, err := e.loadByDN(tx, parsed, ndn)
		if err != nil {
			return nil, err
		}
		if err := e.checkAssertion(opt, before); err != nil {
			return nil, err
		}
		after := before.Clone()
		for _, r := range rs {
			if err := applyMod(after, r.op, r.at, r.name, r.vals); err != nil {
				return nil, err
			}
		}
		if err := e.checkRDNKept(parsed, after); err != nil {
			return nil, err
		}
		if err := e.checkStructural(before, after); err != nil {
			return nil, err
		}
		if err := e.check(parsed, userAttrs(e.schema, after.Attrs)); err != nil {
			return nil, err
		}
		e.stampModify(ctx, after, tx.csn)
		if err := e.putEntry(tx, before, after); err != nil {
			return nil, err
		}
		return &Change{Kind: change.Modify, Before: before, After: after}, nil
	})
}

// applyMod applies one modification to en in place.
func applyMod(en *Entry, op change.ModOp, at *schema.AttributeType, name string, vals [][]byte) error {
	cur := en.Get(name)
	switch op {
	case change.ModAdd:
		for _, v := range vals {
			if containsValue(at, cur, v) {
				return &ldap.Error{Code: ldap.AttributeOrValueExists, Message: name + ": value #0 already exists"}
			}
		}
		en.Set(name, append(append([][]byte(nil), cur...), vals...))
	case change.ModDelete:
		if cur == nil {
			return &ldap.Error{Code: ldap.NoSuchAttribute, Message: name + ": no such attribute"}
		}
		if len(vals) == 0 {
			en.Set(name, nil)
			return nil
		}
		keep := append([][]byte(nil), cur...)
		for _, v := range vals {
			i := indexValue(at, keep, v)
			if i < 0 {
				return &ldap.Error{Code: ldap.NoSuchAttribute, Message: name + ": no such value"}
			}
			keep = append(keep[:i], keep[i+1:]...)
		}
		en.Set(name, keep)
	case change.ModReplace:
		en.Set(name, append([][]byte(nil), vals...))
	case change.ModIncrement:
		if cur == nil {
			return &ldap.Error{Code: ldap.NoSuchAttribute, Message: name + ": no such attribute to increment"}
		}
		delta, _ := new(big.Int).SetString(string(vals[0]), 10)
		next := make([][]byte, len(cur))
		for i, v := range cur {
			n, ok := new(big.Int).SetString(string(v), 10)
			if !ok {
				return &ldap.Error{Code: ldap.ConstraintViolation, Message: name + ": increment of a non-integer value"}
			}
			next[i] = []byte(n.Add(n, delta).String())
		}
		en.Set(name, next)
	default:
		return &ldap.Error{Code: ldap.ProtocolError, Message: "unknown modify operation"}
	}
	return nil
}

func containsValue(at *schema.AttributeType, vals [][]byte, v []byte) bool {
	return indexValue(at, vals, v) >= 0
}

// indexValue finds v in vals by the attribute's equality rule (bytewise
// when it has none).
func indexValue(at *schema.AttributeType, vals [][]byte, v []byte) int {
	if at.Equality == nil {
		for i, x := range vals {
			if bytes.Equal(x, v) {
				return i
			}
		}
		return -1
	}
	nv, err := at.Normalize(v)
	if err != nil {
		return -1
	}
	for i, x := range vals {
		if nx, err := at.Normalize(x); err == nil && bytes.Equal(nx, nv) {
			return i
		}
	}
	return -1
}

// checkRDNKept refuses a modify that removes a value of the entry's RDN
// (notAllowedOnRDN, 67).
func (e *Engine) checkRDNKept(dn ldap.DN, en *Entry) error {
	if len(dn) == 0 {
		return nil
	}
	for _, ava := range dn[0] {
		at, ok := e.schema.Attribute(ava.Type)
		if !ok {
			continue
		}
		if !containsValue(at, en.Get(at.Name()), []byte(ava.Value)) {
			return &ldap.Error{Code: ldap.NotAllowedOnRDN, Message: at.Name() + ": value of naming attribute cannot be removed"}
		}
	}
	return nil
}

// checkStructural refuses a modify that changes the structural object
// class (objectClassModsProhibited, 69).
func (e *Engine) checkStructural(before, after *Entry) error {
	b, err1 := e.schema.StructuralClass(before.Get("objectClass"))
	a, err2 := e.schema.StructuralClass(after.Get("objectClass"))
	if err1 != nil || err2 != nil {
		return nil // the schema check reports the underlying problem
	}
	if b != nil && a != nil && b != a {
		return &ldap.Error{Code: ldap.ObjectClassModsProhibited, Message: "structural object class modification from '" + b.Name() + "' to '" + a.Name() + "' not allowed"}
	}
	return nil
}

// ModifyDN renames an entry and moves it with its subtree (RFC 4511 4.9).
// newSuperior is nil to keep the parent.
func (e *Engine) ModifyDN(ctx context.Context, dn, newRDN string, deleteOldRDN bool, newSuperior *string, opt WriteOptions) (*Change, error) {
	parsed, ndn, err := e.normalizeDN(dn)
	if err != nil {
		return nil, err
	}
	rdnDN, err := ldap.ParseDN(newRDN)
	if err != nil || len(rdnDN) != 1 {
		return nil, &ldap.Error{Code: ldap.InvalidDNSyntax, Message: "newrdn must be a single RDN"}
	}
	rdn := rdnDN[0]
	var parentDN ldap.DN
	var parentNDN string
	if newSuperior != nil {
		if parentDN, parentNDN, err = e.normalizeDN(*newSuperior); err != nil {
			return nil, err
		}
	} else {
		parentDN = parsed.Parent()
		if parentNDN, err = e.schema.NormalizeDN(parentDN); err != nil {
			return nil, err
		}
	}
	newDN := append(ldap.DN{rdn}, parentDN...)
	newNDN, err := e.schema.NormalizeDN(newDN)
	if err != nil {
		return nil, &ldap.Error{Code: ldap.InvalidDNSyntax, Message: err.Error()}
	}
	if err := e.CheckCopyWrite(ndn, true, newNDN); err != nil {
		return nil, err
	}
	// Resolve and validate the new RDN's attributes.
	rdnAttrs := make([]Attr, 0, len(rdn))
	for _, ava := range rdn {
		rdnAttrs = append(rdnAttrs, Attr{Name: ava.Type, Values: [][]byte{[]byte(ava.Value)}})
	}
	if rdnAttrs, err = e.resolveAttrs(rdnAttrs, false); err != nil {
		return nil, err
	}
	return e.update(ctx, func(tx *Tx) (*Change, error) {
		before, err := e.loadByDN(tx, parsed, ndn)
		if err != nil {
			return nil, err
		}
		if ndn == e.nsuffix {
			return nil, &ldap.Error{Code: ldap.UnwillingToPerform, Message: "cannot rename the suffix entry"}
		}
		if err := e.checkAssertion(opt, before); err != nil {
			return nil, err
		}
		if !e.inSuffix(newNDN) {
			return nil, &ldap.Error{Code: ldap.AffectsMultipleDSAs, Message: "new DN is outside the naming context"}
		}
		parentID := before.ParentID
		if newSuperior != nil {
			if parentNDN == ndn || ldap.IsBelowNDN(parentNDN, ndn) {
				return nil, &ldap.Error{Code: ldap.UnwillingToPerform, Message: "new superior is the entry or below it"}
			}
			if parentNDN == "" || !e.inSuffix(parentNDN) {
				return nil, noSuchObject("")
			}
			if parentID, err = lookupDN(tx.txn, parentNDN); err != nil {
				return nil, err
			}
			if parentID == 0 {
				return nil, noSuchObject(e.matchedDN(tx.txn, append(ldap.DN{rdn}, parentDN...)))
			}
		}
		if newNDN != ndn {
			if id, err := lookupDN(tx.txn, newNDN); err != nil {
				return nil, err
			} else if id != 0 {
				return nil, &ldap.Error{Code: ldap.EntryAlreadyExists, Message: "an entry with the new DN already exists"}
			}
		}
		after := before.Clone()
		after.DN, after.NDN, after.ParentID = newDN.String(), newNDN, parentID
		if deleteOldRDN {
			for _, ava := range parsed[0] {
				at, ok := e.schema.Attribute(ava.Type)
				if !ok {
					continue
				}
				if containsValue(at, rdnValues(e.schema, rdn, at), []byte(ava.Value)) {
					continue // the new RDN keeps this value
				}
				cur := after.Get(at.Name())
				if i := indexValue(at, cur, []byte(ava.Value)); i >= 0 {
					next := append(append([][]byte(nil), cur[:i]...), cur[i+1:]...)
					after.Set(at.Name(), next)
				}
			}
		}
		for _, ra := range rdnAttrs {
			at, _, _ := e.resolveName(ra.Name)
			cur := after.Get(ra.Name)
			if !containsValue(at, cur, ra.Values[0]) {
				if at.SingleValue && len(cur) > 0 && !deleteOldRDN {
					return nil, &ldap.Error{Code: ldap.ConstraintViolation, Message: ra.Name + ": single-valued attribute would get a second value"}
				}
				if at.SingleValue {
					cur = nil
				}
				after.Set(ra.Name, append(append([][]byte(nil), cur...), ra.Values[0]))
			}
		}
		if err := e.check(newDN, userAttrs(e.schema, after.Attrs)); err != nil {
			return nil, err
		}
		e.stampModify(ctx, after, tx.csn)
		if err := e.putEntry(tx, before, after); err != nil {
			return nil, err
		}
		ch := &Change{Kind: change.ModRDN, Before: before, After: after,
			Renamed: []Rename{{ID: before.ID, OldDN: before.DN, OldNDN: before.NDN, NewDN: after.DN, NewNDN: after.NDN}}}
		// Move the subtree: every descendant's DN ends in the old DN.
		subs, err := descendants(tx.txn, before.ID)
		if err != nil {
			return nil, err
		}
		for _, id := range subs {
			d, err := e.getEntry(tx.txn, id)
			if err != nil || d == nil {
				return nil, fmt.Errorf("directory: descendant %d of %q: %v", id, before.DN, err)
			}
			old, err := ldap.ParseDN(d.DN)
			if err != nil || len(old) < len(parsed) {
				return nil, fmt.Errorf("directory: stored DN %q: %v", d.DN, err)
			}
			moved := append(append(ldap.DN{}, old[:len(old)-len(parsed)]...), newDN...)
			nd := d.Clone()
			nd.DN = moved.String()
			if nd.NDN, err = e.schema.NormalizeDN(moved); err != nil {
				return nil, err
			}
			if err := e.putEntry(tx, d, nd); err != nil {
				return nil, err
			}
			ch.Renamed = append(ch.Renamed, Rename{ID: id, OldDN: d.DN, OldNDN: d.NDN, NewDN: nd.DN, NewNDN: nd.NDN})
		}
		return ch, nil
	})
}

// rdnValues returns the values the RDN gives attribute at.
func rdnValues(s *schema.Schema, rdn ldap.RDN, at *schema.AttributeType) [][]byte {
	var out [][]byte
	for _, ava := range rdn {
		if t, ok := s.Attribute(ava.Type); ok && t == at {
			out = append(out, []byte(ava.Value))
		}
	}
	return out
}
