package directory

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// runSorter sorts key-value pairs that may not fit in memory: pairs
// gather in a buffer; a full buffer is sorted by key and written to a run
// file; merge reads the runs back in global key order (a k-way merge).
//
// There are two buffers of half the limit each: while one is sorted and
// written out by a background goroutine, the other fills, so that on a
// machine with two cores the sorting costs little wall time.
//
// Pairs that arrive already in key order (the entry records, whose keys
// are ascending IDs) skip the buffers: addSorted writes them straight to
// a run file of their own, which merge reads like the others.
//
// Run file record: uvarint len(key) | key | uvarint len(value) | value.
// In memory, keys and values sit back to back in one buffer and a slice of
// fixed-size records points at them.
type runSorter struct {
	dir   string
	limit int // bytes of one buffer
	cur   *runBuffer
	spare *runBuffer // nil while a spill of it runs
	done  chan error // receives the result of the running spill
	files []string   // finished run files
	seq   *bufio.Writer
	seqF  *os.File
	last  []byte // the last key given to addSorted
}

// runBuffer holds one run while it fills and while it is sorted and
// written.
type runBuffer struct {
	buf    []byte // keys and values, back to back
	recs   []rec
	sorted bool // recs are sorted (and their pfx no longer the key's first word)
}

// rec locates one pair in the buffer; pfx holds the key's first 8 bytes
// (big-endian, zero padded) so that most comparisons are one integer
// comparison.
type rec struct {
	pfx        uint64
	off        uint32
	klen, vlen uint32
}

func (b *runBuffer) key(r *rec) []byte { return b.buf[r.off : r.off+r.klen] }

func (b *runBuffer) value(r *rec) []byte {
	return b.buf[r.off+r.klen : r.off+r.klen+r.vlen]
}

func keyPrefix(k []byte) uint64 {
	var b [8]byte
	copy(b[:], k)
	return binary.BigEndian.Uint64(b[:])
}

// recBytes is the memory one pair costs besides its key and value.
const recBytes = 24

func newRunSorter(dir string, limit int) (*runSorter, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &runSorter{dir: dir, limit: limit / 2, cur: &runBuffer{}, spare: &runBuffer{}}, nil
}

func (s *runSorter) add(k, v []byte) error {
	b := s.cur
	if len(b.buf)+len(k)+len(v)+recBytes*(len(b.recs)+1) > s.limit && len(b.recs) > 0 {
		if err := s.spill(); err != nil {
			return err
		}
		b = s.cur
	}
	b.sorted = false
	b.recs = append(b.recs, rec{pfx: keyPrefix(k), off: uint32(len(b.buf)), klen: uint32(len(k)), vlen: uint32(len(v))})
	b.buf = append(append(b.buf, k...), v...)
	return nil
}

// addSorted adds a pair whose key is greater than that of the previous
// call's.
func (s *runSorter) addSorted(k, v []byte) error {
	if s.seq == nil {
		f, err := os.Create(filepath.Join(s.dir, "sorted"))
		if err != nil {
			return err
		}
		s.seqF, s.seq = f, bufio.NewWriterSize(f, 1<<20)
		s.files = append(s.files, f.Name())
	} else if bytes.Compare(k, s.last) <= 0 {
		return errors.New("directory: run sorter: addSorted out of order")
	}
	s.last = append(s.last[:0], k...)
	return writeRecord(s.seq, k, v)
}

func writeRecord(w *bufio.Writer, k, v []byte) error {
	var hdr [binary.MaxVarintLen64]byte
	w.Write(hdr[:binary.PutUvarint(hdr[:], uint64(len(k)))])
	w.Write(k)
	w.Write(hdr[:binary.PutUvarint(hdr[:], uint64(len(v)))])
	_, err := w.Write(v)
	return err
}

// sort orders the records by key. It compares keys eight bytes at a time
// held in the records themselves (rec.pfx), not in the buffer: records are
// sorted by their first eight bytes, then each group that shares them by
// the next eight, and so on. The keys share long prefixes (index keys
// start with the attribute's name), and comparing integers in a slice of
// records spares the cache misses of reaching into the buffer at every
// comparison.
func (b *runBuffer) sort() {
	if !b.sorted {
		b.sortFrom(b.recs, 0)
		b.sorted = true
	}
}

// sortFrom sorts recs, whose keys agree on their first depth bytes and
// whose pfx holds bytes depth to depth+8 of the key.
func (b *runBuffer) sortFrom(recs []rec, depth uint32) {
	// rest is how many of the eight bytes the key has: a key that ends
	// inside the word sorts before the longer keys padded alike.
	rest := func(r *rec) uint32 { return min(r.klen-depth, 8) }
	slices.SortFunc(recs, func(x, y rec) int {
		if x.pfx != y.pfx {
			if x.pfx < y.pfx {
				return -1
			}
			return 1
		}
		return int(rest(&x)) - int(rest(&y))
	})
	for i := 0; i < len(recs); {
		j := i + 1
		for j < len(recs) && recs[j].pfx == recs[i].pfx && rest(&recs[j]) == rest(&recs[i]) {
			j++
		}
		// Keys that end inside the word are equal; the others go on.
		if j-i > 1 && rest(&recs[i]) == 8 {
			next := depth + 8
			for k := i; k < j; k++ {
				r := &recs[k]
				r.pfx = keyPrefix(b.buf[r.off+next : r.off+r.klen])
			}
			b.sortFrom(recs[i:j], next)
		}
		i = j
	}
}

// spill starts writing the current buffer, sorted, to a new run file in
// the background, after waiting for the previous spill, and makes the
// spare buffer current.
func (s *runSorter) spill() error {
	if err := s.wait(); err != nil {
		return err
	}
	b := s.cur
	s.cur, s.spare = s.spare, nil
	name := filepath.Join(s.dir, fmt.Sprintf("run-%04d", len(s.files)))
	s.files = append(s.files, name)
	s.done = make(chan error, 1)
	go func() {
		err := b.write(name)
		b.buf, b.recs = b.buf[:0], b.recs[:0]
		s.done <- err
	}()
	s.spare = b
	return nil
}

// wait waits for the running spill, if any.
func (s *runSorter) wait() error {
	if s.done == nil {
		return nil
	}
	err := <-s.done
	s.done = nil
	return err
}

// write sorts the buffer and writes it to a new run file.
func (b *runBuffer) write(name string) error {
	b.sort()
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range b.recs {
		writeRecord(w, b.key(&b.recs[i]), b.value(&b.recs[i]))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// runCursor reads one sorted run: a file or the in-memory buffer.
type runCursor struct {
	r    *bufio.Reader
	f    *os.File
	mem  *runBuffer
	i    int
	k, v []byte
}

func (c *runCursor) next() (bool, error) {
	if c.mem != nil {
		if c.i >= len(c.mem.recs) {
			return false, nil
		}
		r := &c.mem.recs[c.i]
		c.k, c.v = c.mem.key(r), c.mem.value(r)
		c.i++
		return true, nil
	}
	n, err := binary.ReadUvarint(c.r)
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	c.k = grow(c.k, int(n))
	if _, err := io.ReadFull(c.r, c.k); err != nil {
		return false, err
	}
	if n, err = binary.ReadUvarint(c.r); err != nil {
		return false, err
	}
	c.v = grow(c.v, int(n))
	if _, err := io.ReadFull(c.r, c.v); err != nil {
		return false, err
	}
	return true, nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

type cursorHeap []*runCursor

func (h cursorHeap) Len() int           { return len(h) }
func (h cursorHeap) Less(i, j int) bool { return bytes.Compare(h[i].k, h[j].k) < 0 }
func (h cursorHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)        { *h = append(*h, x.(*runCursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// merge calls fn with every pair in ascending key order. The slices are
// valid only during the call.
func (s *runSorter) merge(fn func(k, v []byte) error) error {
	if err := s.wait(); err != nil {
		return err
	}
	if s.seq != nil {
		if err := s.seq.Flush(); err != nil {
			return err
		}
		if err := s.seqF.Close(); err != nil {
			return err
		}
		s.seq = nil
	}
	s.spare = nil
	s.cur.sort()
	var h cursorHeap
	defer func() {
		for _, c := range h {
			if c.f != nil {
				c.f.Close()
			}
		}
	}()
	// The read buffers share 64 MiB, within 64 KiB to 1 MiB each.
	rbuf := min(max(64<<20/(len(s.files)+1), 64<<10), 1<<20)
	cursors := []*runCursor{{mem: s.cur}}
	for _, name := range s.files {
		f, err := os.Open(name)
		if err != nil {
			for _, c := range cursors {
				if c.f != nil {
					c.f.Close()
				}
			}
			return err
		}
		cursors = append(cursors, &runCursor{f: f, r: bufio.NewReaderSize(f, rbuf)})
	}
	for _, c := range cursors {
		ok, err := c.next()
		if err != nil {
			return err
		}
		if ok {
			h = append(h, c)
		} else if c.f != nil {
			c.f.Close()
		}
	}
	heap.Init(&h)
	for h.Len() > 0 {
		c := h[0]
		if err := fn(c.k, c.v); err != nil {
			return err
		}
		ok, err := c.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(&h, 0)
		} else {
			if c.f != nil {
				c.f.Close()
				c.f = nil
			}
			heap.Pop(&h)
		}
	}
	return nil
}

// close waits for a running spill and removes the run files.
func (s *runSorter) close() {
	s.wait()
	if s.seqF != nil {
		s.seqF.Close()
	}
	os.RemoveAll(s.dir)
	s.cur, s.spare = nil, nil
}
