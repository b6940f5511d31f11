package merge

// The exported forms of helpers the other replication packages share with
// the merge rules: the string and Op codec the change log and the
// transport embed in their records, and the digest of entries read from a
// store.

// AppendString appends s as the codecs here write a string: a uvarint
// length and its bytes.
func AppendString(b []byte, s string) []byte { return appendString(b, s) }

// A Decoder reads what AppendBinary (of an Op) and AppendString write,
// for records that embed an Op in their own format. The first error
// sticks (Err); later reads return zero values.
type Decoder struct{ d opDecoder }

// NewDecoder returns a Decoder reading b; off is the offset of b in the
// whole record, for error messages.
func NewDecoder(b []byte, off int) *Decoder { return &Decoder{opDecoder{b: b, off: off}} }

// ReadOp reads an Op.
func (d *Decoder) ReadOp() Op { return d.d.op() }

// ReadString reads a string.
func (d *Decoder) ReadString() string { return d.d.string() }

// ReadCount reads a count of items of at least min bytes each, refusing
// a count the remaining input cannot hold.
func (d *Decoder) ReadCount(min int) int { return d.d.count(min) }

// ReadUUID reads a UUID.
func (d *Decoder) ReadUUID() UUID { return d.d.uuid() }

// Len returns the number of bytes not read yet.
func (d *Decoder) Len() int { return len(d.d.b) }

// Fail records an error at the current offset, unless there is one.
func (d *Decoder) Fail(format string, args ...any) { d.d.fail(format, args...) }

// Err returns the first error, an ErrOpSyntax.
func (d *Decoder) Err() error { return d.d.err }

// Fingerprint returns the fingerprint of e that digests sum.
func Fingerprint(e *Entry) [32]byte { return fingerprint(e) }

// A DigestSum sums entry fingerprints into the digest State.Digest
// returns, for entries read from somewhere else (a store).
type DigestSum struct{ d digestSum }

// Add adds the fingerprint fp.
func (d *DigestSum) Add(fp *[32]byte) { d.d.add(fp, 1) }

// Sum returns the digest of the fingerprints added.
func (d *DigestSum) Sum() [32]byte { return d.d.sum() }

// Has reports whether the State knows entry u (live or a tombstone).
func (s *State) Has(u UUID) bool {
	_, ok := s.entries[u]
	return ok
}

// Touch records that entry u changed, for TakeChanged and TakeUnsaved:
// a save that did not write it marks it again.
func (s *State) Touch(u UUID) { s.touch(u) }

// IsEvicted reports whether entry u's attribute stamps are not in memory
// (its stored state is then current but for a pending purge).
func (s *State) IsEvicted(u UUID) bool { return s.isEvicted(u) }
