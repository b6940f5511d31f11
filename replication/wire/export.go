package wire

// The exported forms of the codec helpers package replication uses for
// its own store records (the checkpoint and replica positions carry a
// Vector in the pull messages' form).

// AppendVector appends v in the messages' form: a uvarint count, then
// each origin (2 bytes, big-endian, increasing) and its CSN (16 bytes).
func AppendVector(b []byte, v Vector) []byte { return appendVector(b, v) }

// SortedOrigins returns v's origins in increasing order.
func SortedOrigins(v Vector) []uint16 { return sortedOrigins(v) }

// NewSnapshotID returns a new random snapshot ID.
func NewSnapshotID() SnapshotID { return newSnapshotID() }

// A Reader reads the forms the messages are made of. The first error
// (ErrWire, or a CSN that does not decode) sticks; later reads return
// zero values.
type Reader struct{ r wireReader }

// NewReader returns a Reader of b.
func NewReader(b []byte) *Reader { return &Reader{wireReader{b: b}} }

// Take reads n bytes.
func (r *Reader) Take(n int) []byte { return r.r.take(n) }

// Uvarint reads a uvarint.
func (r *Reader) Uvarint() uint64 { return r.r.uvarint() }

// Vector reads what AppendVector writes.
func (r *Reader) Vector() Vector { return r.r.vector() }

// Len returns the number of bytes not read yet.
func (r *Reader) Len() int { return len(r.r.b) }

// Fail records err unless there is an error already.
func (r *Reader) Fail(err error) {
	if r.r.err == nil {
		r.r.err = err
	}
}

// Err returns the first error.
func (r *Reader) Err() error { return r.r.err }
