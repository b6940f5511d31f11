package directory

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
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
// Run file record: uvarint len(key) | key | uvarint len(value) | value.
// In memory, keys and values sit back to back in one buffer and a slice of
// fixed-size records points at them.
type runSorter struct {
	dir   string
	limit int
	buf   []byte // keys and values, back to back
	recs  []rec
	files []string
}

// rec locates one pair in the buffer; pfx holds the key's first 8 bytes
// (big-endian, zero padded) so that most comparisons are one integer
// comparison.
type rec struct {
	pfx        uint64
	off        uint32
	klen, vlen uint32
}

func (s *runSorter) key(r *rec) []byte { return s.buf[r.off : r.off+r.klen] }

func (s *runSorter) value(r *rec) []byte {
	return s.buf[r.off+r.klen : r.off+r.klen+r.vlen]
}

func keyPrefix(k []byte) uint64 {
	var b [8]byte
	copy(b[:], k)
	return binary.BigEndian.Uint64(b[:])
}

func newRunSorter(dir string, limit int) (*runSorter, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &runSorter{dir: dir, limit: limit}, nil
}

func (s *runSorter) add(k, v []byte) error {
	if len(s.buf)+len(k)+len(v)+24*(len(s.recs)+1) > s.limit && len(s.recs) > 0 {
		if err := s.spill(); err != nil {
			return err
		}
	}
	s.recs = append(s.recs, rec{pfx: keyPrefix(k), off: uint32(len(s.buf)), klen: uint32(len(k)), vlen: uint32(len(v))})
	s.buf = append(append(s.buf, k...), v...)
	return nil
}

func (s *runSorter) sortBuffer() {
	slices.SortFunc(s.recs, func(a, b rec) int {
		if a.pfx != b.pfx {
			if a.pfx < b.pfx {
				return -1
			}
			return 1
		}
		return bytes.Compare(s.key(&a), s.key(&b))
	})
}

// spill writes the buffer, sorted, to a new run file.
func (s *runSorter) spill() error {
	s.sortBuffer()
	name := filepath.Join(s.dir, fmt.Sprintf("run-%04d", len(s.files)))
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range s.recs {
		k, v := s.key(&s.recs[i]), s.value(&s.recs[i])
		var hdr [2 * binary.MaxVarintLen64]byte
		n := binary.PutUvarint(hdr[:], uint64(len(k)))
		w.Write(hdr[:n])
		w.Write(k)
		n = binary.PutUvarint(hdr[:], uint64(len(v)))
		w.Write(hdr[:n])
		w.Write(v)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	s.files = append(s.files, name)
	s.buf, s.recs = s.buf[:0], s.recs[:0]
	return nil
}

// runCursor reads one sorted run: a file or the in-memory buffer.
type runCursor struct {
	r    *bufio.Reader
	f    *os.File
	mem  *runSorter
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
	s.sortBuffer()
	var h cursorHeap
	defer func() {
		for _, c := range h {
			if c.f != nil {
				c.f.Close()
			}
		}
	}()
	cursors := []*runCursor{{mem: s}}
	for _, name := range s.files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		cursors = append(cursors, &runCursor{f: f, r: bufio.NewReaderSize(f, 1<<20)})
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

// close removes the run files.
func (s *runSorter) close() {
	os.RemoveAll(s.dir)
	s.buf, s.recs = nil, nil
}
