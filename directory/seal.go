package directory

// Sealed attributes.
//
// On top of Badger's encryption of whole files (encryption.go), the
// values of chosen attributes (Options.SealedAttributes, the config's
// encryption.attributes) are sealed one by one before they are stored:
// whoever reads the files with the master key, or a process memory dump
// of Badger's block cache, or an export of the raw key-value pairs, still
// does not see them. They are opened when an entry is read, so every
// operation (search, compare, filters, export) sees clear values.
//
// Key: AES-256-GCM under HKDF-SHA256(master key, salt none, info
// "switchboard attribute sealing v1"), 32 bytes. Sealing needs the master
// key: Open refuses SealedAttributes without Options.EncryptionKey.
//
// Sealed value: nonce (12 random bytes) | ciphertext | GCM tag (16
// bytes); the additional data is the attribute description as stored
// (e.g. "employeeNumber" or "description;lang-de"), so a value cannot be
// moved to another attribute unnoticed.
//
// Entry records that hold sealed values use format 2: the layout of
// format 1 (entry.go), with the name of every sealed attribute preceded
// by a 0x00 byte (which no attribute description contains) and its values
// sealed. A record without sealed values is written in format 1, and
// read exactly as before: a store without sealed attributes pays nothing.
// Reading format 2 opens the values in place in the record's copy, so it
// adds no allocation, only the AES-GCM work (a few hundred ns for
// a short value; BenchmarkDecodeEntry).
//
// A sealed attribute cannot be indexed (Open refuses an index on it: an
// index key holds the value), so a filter on it is evaluated by reading,
// and so opening, every candidate entry the other items of the filter
// leave: on its own, every entry of the scope, subject to the unindexed
// limit. It cannot name an entry either: an add or rename whose RDN uses
// it is refused (the DN is stored and indexed in clear). The changelog
// (package replication) seals those values in its records the same way,
// and replicas exchange them sealed (see "Sealed attributes" in package
// replication): every replica needs the same master key, which its KeyID
// names without revealing.
//
// Which attributes are sealed is decided when a value is written: adding
// an attribute to the list seals its values as entries are next written
// (export and import to seal them all now); taking one off leaves the
// values already sealed readable, as long as the master key is the same.
// That is why a rekey (RekeyStore) is refused on a store that has sealed
// attributes (the file SEALED_ATTRIBUTES in its directory marks it): the
// new master key would derive another sealing key. Such a store changes
// its master key by export with the old key and import with the new one.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unsafe"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// SealInfo is the HKDF info string of the attribute sealing key.
const SealInfo = "switchboard attribute sealing v1"

// entryFormatSealed tags entry records holding sealed values.
const entryFormatSealed = 2

// sealedMark precedes the name of a sealed attribute in a record.
const sealedMark = 0x00

// SealedMarkerFile, in a store's directory, records that the store has
// held sealed attributes (see RekeyStore).
const SealedMarkerFile = "SEALED_ATTRIBUTES"

const sealNonce = 12

// ErrSealed is wrapped by the errors of reading a sealed value without
// the key it was sealed with.
var ErrSealed = errors.New("directory: sealed attribute value does not open")

// Sealer seals and opens the values of the sealed attributes. A nil
// *Sealer seals nothing.
type Sealer struct {
	aead  cipher.AEAD
	names []string // canonical names of the attributes to seal
	id    KeyID
}

// A KeyID names a sealing key without revealing it: the first 8 bytes of
// HKDF-SHA256(master key, salt none, info KeyIDInfo). Replicas compare
// theirs before they exchange sealed values (package replication).
type KeyID [8]byte

// KeyIDInfo is the HKDF info string of a sealing key's KeyID.
const KeyIDInfo = "switchboard attribute sealing key id v1"

func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

// NewSealer returns a Sealer of the attributes names (canonical names, as
// the schema spells them) under the sealing key derived from master. An
// engine makes its own (Options.SealedAttributes, checked against the
// schema); this one is for the codecs that seal outside the engine, and
// their tests.
func NewSealer(master []byte, names []string) (*Sealer, error) {
	return newSealer(master, slices.Clone(names))
}

// newSealer derives the sealing key from master.
func newSealer(master []byte, names []string) (*Sealer, error) {
	key, err := hkdf.Key(sha256.New, master, nil, SealInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("directory: sealing key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sum, err := hkdf.Key(sha256.New, master, nil, KeyIDInfo, len(KeyID{}))
	if err != nil {
		return nil, fmt.Errorf("directory: sealing key: %w", err)
	}
	return &Sealer{aead: aead, names: names, id: KeyID(sum)}, nil
}

// KeyID names the sealing key (the zero KeyID for a nil Sealer).
func (s *Sealer) KeyID() KeyID {
	if s == nil {
		return KeyID{}
	}
	return s.id
}

// Names returns the canonical names of the sealed attributes, as
// configured (nil for a nil Sealer).
func (s *Sealer) Names() []string {
	if s == nil {
		return nil
	}
	return slices.Clone(s.names)
}

// Sealed reports whether values of the attribute description name
// (options allowed) are sealed when written.
func (s *Sealer) Sealed(name string) bool {
	if s == nil || len(s.names) == 0 {
		return false
	}
	if i := strings.IndexByte(name, ';'); i >= 0 {
		name = name[:i]
	}
	for _, n := range s.names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// Seal appends the sealed form of v, a value of attribute name, to dst.
func (s *Sealer) Seal(dst []byte, name string, v []byte) []byte {
	var nonce [sealNonce]byte
	rand.Read(nonce[:])
	dst = append(dst, nonce[:]...)
	return s.aead.Seal(dst, nonce[:], v, aad(name))
}

// aad views name as the additional data, without a copy: the AEAD reads
// it and keeps nothing.
func aad(name string) []byte { return unsafe.Slice(unsafe.StringData(name), len(name)) }

// Open opens a value sealed by Seal for attribute name. The clear value
// is written over sealed, which must not be used afterwards.
func (s *Sealer) Open(name string, sealed []byte) ([]byte, error) {
	return s.open(name, sealed, true)
}

// openCopy is Open leaving sealed as it is (a cached record): the clear
// value is a new slice.
func (s *Sealer) openCopy(name string, sealed []byte) ([]byte, error) {
	return s.open(name, sealed, false)
}

// open opens sealed, writing the clear value over it if inPlace.
func (s *Sealer) open(name string, sealed []byte, inPlace bool) ([]byte, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: %s is sealed and the store was opened without its master key", ErrSealed, name)
	}
	if len(sealed) < sealNonce+s.aead.Overhead() {
		return nil, fmt.Errorf("%w: %s: too short", ErrSealed, name)
	}
	ct := sealed[sealNonce:]
	var dst []byte
	if inPlace {
		dst = ct[:0]
	}
	out, err := s.aead.Open(dst, sealed[:sealNonce], ct, aad(name))
	if err != nil {
		return nil, fmt.Errorf("%w: %s was sealed under another key (another master key?)", ErrSealed, name)
	}
	return out[:len(out):len(out)], nil
}

// Sealer returns the engine's sealer: nil without a master key.
func (e *Engine) Sealer() *Sealer { return e.sealer }

// openSealer builds the sealer of opt, checking the sealed attributes
// against the schema and the indexes.
func (e *Engine) openSealer(opt Options) error {
	if len(opt.SealedAttributes) > 0 && len(opt.EncryptionKey) == 0 {
		return errors.New("directory: sealed attributes (encryption.attributes) need the master key (encryption.key_file or SWITCHBOARD_ENCRYPTION_KEY)")
	}
	if len(opt.EncryptionKey) == 0 {
		return nil
	}
	var names []string
	for _, n := range opt.SealedAttributes {
		at, ok := opt.Schema.Attribute(n)
		switch {
		case !ok:
			return fmt.Errorf("directory: sealed attribute %q is not in the schema", n)
		case at.IsOperational() || strings.EqualFold(at.Name(), "objectClass"):
			return fmt.Errorf("directory: %s cannot be sealed: the server reads it to run", at.Name())
		case e.indexes.Lookup(at) != nil:
			return fmt.Errorf("directory: %s is sealed (encryption.attributes) and cannot be indexed, since an index holds its values in clear: remove it from indexes (the defaults index it unless indexes are configured)", at.Name())
		case e.virtuals[at] != nil:
			return fmt.Errorf("directory: %s is computed when read and cannot be sealed", at.Name())
		}
		names = append(names, at.Name())
	}
	s, err := newSealer(opt.EncryptionKey, names)
	if err != nil {
		return err
	}
	e.sealer = s
	return nil
}

// markSealed records in the open store's directory that it holds sealed
// values (RekeyStore refuses such a store).
func (e *Engine) markSealed(opt Options) error {
	if e.sealer == nil || len(e.sealer.names) == 0 || opt.InMemory {
		return nil
	}
	note := "This store holds attribute values sealed under a key derived from its master key\n" +
		"(" + strings.Join(e.sealer.names, ", ") + "). Change the master key by export and import, not rekey.\n"
	if err := os.WriteFile(filepath.Join(opt.Dir, SealedMarkerFile), []byte(note), 0o600); err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	return nil
}

// encodeEntry returns the record of en: format 1, or format 2 when it
// holds values of sealed attributes.
func (e *Engine) encodeEntry(en *Entry) ([]byte, error) {
	format, tail, err := e.encodeEntryTail(nil, en)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(tail))
	b = append(b, format)
	b = binary.AppendUvarint(b, uint64(en.ParentID))
	return append(b, tail...), nil
}

// encodeEntryTail appends to dst the part of en's record after the format
// byte and the parent ID, and returns the format: the bulk loader prepares
// it before it knows the parent's ID.
func (e *Engine) encodeEntryTail(dst []byte, en *Entry) (format byte, tail []byte, err error) {
	s := e.sealer
	if s == nil || len(s.names) == 0 {
		return entryFormatV1, en.marshalTail(dst), nil
	}
	has := false
	for i := range en.Attrs {
		if s.Sealed(en.Attrs[i].Name) {
			has = true
			break
		}
	}
	if dn, err := ldap.ParseDN(en.DN); err == nil && len(dn) > 0 {
		for _, ava := range dn[0] {
			if s.Sealed(e.canonicalName(ava.Type)) {
				return 0, nil, &ldap.Error{Code: ldap.UnwillingToPerform,
					Message: ava.Type + " is sealed (encryption.attributes) and cannot name an entry: the DN is stored in clear"}
			}
		}
	}
	if !has {
		return entryFormatV1, en.marshalTail(dst), nil
	}
	b := dst
	b = appendString(b, en.DN)
	b = appendString(b, en.NDN)
	b = binary.AppendUvarint(b, uint64(len(en.Attrs)))
	var sealed []byte
	for _, a := range en.Attrs {
		if !s.Sealed(a.Name) {
			b = appendString(b, a.Name)
			b = binary.AppendUvarint(b, uint64(len(a.Values)))
			for _, v := range a.Values {
				b = binary.AppendUvarint(b, uint64(len(v)))
				b = append(b, v...)
			}
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(a.Name)+1))
		b = append(b, sealedMark)
		b = append(b, a.Name...)
		b = binary.AppendUvarint(b, uint64(len(a.Values)))
		for _, v := range a.Values {
			sealed = s.Seal(sealed[:0], a.Name, v)
			b = binary.AppendUvarint(b, uint64(len(sealed)))
			b = append(b, sealed...)
		}
	}
	return entryFormatSealed, b, nil
}

func (e *Engine) canonicalName(typ string) string {
	if at, ok := e.schema.Attribute(typ); ok {
		return at.Name()
	}
	return typ
}

// decodeEntry decodes an entry record of either format into a new Entry
// over a copy of v.
func (e *Engine) decodeEntry(id ID, v []byte) (*Entry, error) {
	en := &Entry{}
	var vals [][]byte
	if err := e.decodeRecord(en, &vals, id, append([]byte(nil), v...)); err != nil {
		return nil, err
	}
	return en, nil
}

// decodeRecordAttr decodes from an entry record of either format the
// names of the entry and the values of the one attribute attr (matched
// without regard to case), skipping the others: what a bind needs. Values
// alias rec (sealed ones are opened into new slices).
func (e *Engine) decodeRecordAttr(dst *Entry, id ID, rec []byte, attr string) error {
	if len(rec) == 0 || (rec[0] != entryFormatV1 && rec[0] != entryFormatSealed) {
		return errCorrupt
	}
	if err := decodeOneAttr(dst, id, rec[1:], attr); err != nil {
		return err
	}
	if rec[0] != entryFormatSealed {
		return nil
	}
	return e.openSealed(dst)
}

// decodeRecord decodes an entry record of either format into dst as
// decodeInto does: rec must never be written afterwards. Sealed values
// are opened into new slices.
func (e *Engine) decodeRecord(dst *Entry, vals *[][]byte, id ID, rec []byte) error {
	if len(rec) == 0 || (rec[0] != entryFormatV1 && rec[0] != entryFormatSealed) {
		return errCorrupt
	}
	if err := decodeInto(dst, vals, id, rec[1:]); err != nil {
		return err
	}
	if rec[0] != entryFormatSealed {
		return nil
	}
	return e.openSealed(dst)
}

// openSealed opens the values of dst's sealed attributes (their names
// carry sealedMark, which it removes) into new slices: not in place, as
// the record they alias is cached and decoded again.
func (e *Engine) openSealed(dst *Entry) error {
	for i := range dst.Attrs {
		a := &dst.Attrs[i]
		if a.Name == "" || a.Name[0] != sealedMark {
			continue
		}
		a.Name = a.Name[1:]
		for j, sv := range a.Values {
			var err error
			if a.Values[j], err = e.sealer.openCopy(a.Name, sv); err != nil {
				return fmt.Errorf("entry %d: %w", dst.ID, err)
			}
		}
	}
	return nil
}

// storeHasSealed reports whether dir is marked as holding sealed values.
func storeHasSealed(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, SealedMarkerFile))
	return err == nil
}
