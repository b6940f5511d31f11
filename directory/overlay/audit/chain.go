package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// The file format. These strings are part of the format: changing them
// breaks the verification of existing logs.
const (
	headerMagic  = "# switchboard audit log v1"
	prevPrefix   = "# previous: "
	headerLDIF   = "version: 1"
	chainPrefix  = "# chain: "
	digestHexLen = 2 * sha256.Size
	headerLen    = len(headerMagic) + 1 + len(prevPrefix) + digestHexLen + 1 + len(headerLDIF) + 1
)

// Digest is one link of the hash chain.
type Digest [sha256.Size]byte

// Genesis is the chain value the very first file starts from.
var Genesis Digest

func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// next returns the chain value of a record whose body is body, following
// prev: SHA-256(prev || body), prev as its 32 raw bytes.
func next(prev Digest, body []byte) Digest {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(body)
	var d Digest
	h.Sum(d[:0])
	return d
}

// parseDigest parses 64 lower-case hex digits.
func parseDigest(s []byte) (Digest, bool) {
	var d Digest
	if len(s) != digestHexLen {
		return d, false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return d, false
		}
	}
	hex.Decode(d[:], s)
	return d, true
}

// header returns the first lines of a file whose first record follows
// prev.
func header(prev Digest) []byte {
	return fmt.Appendf(nil, "%s\n%s%s\n%s\n", headerMagic, prevPrefix, prev, headerLDIF)
}

// frame returns what the log appends for one record: a blank line, the
// body, and the chain line. body must end in "\n" and contain no blank
// line.
func frame(b []byte, body []byte, d Digest) []byte {
	b = append(b, '\n')
	b = append(b, body...)
	b = append(b, chainPrefix...)
	b = hex.AppendEncode(b, d[:])
	return append(b, '\n')
}

// VerifyError locates the first break in a chain.
type VerifyError struct {
	File      string
	Line      int // first line of the broken record (or the offending line)
	EndLine   int // last line of the broken record; 0 if just Line
	Msg       string
	Truncated bool // the last file ends inside a record (a torn or cut tail)
}

func (e *VerifyError) Error() string {
	if e.EndLine > e.Line {
		return fmt.Sprintf("%s: lines %d-%d: %s", e.File, e.Line, e.EndLine, e.Msg)
	}
	return fmt.Sprintf("%s: line %d: %s", e.File, e.Line, e.Msg)
}

// segment is what parsing one file found.
type segment struct {
	Previous Digest // from the header
	Head     Digest // chain value of the last complete record (Previous if none)
	Records  int
	End      int // offset just past the last complete record (or the header)
	Torn     int // line where an unfinished final record starts; 0 if none
}

// parseFile checks one file's header and every record's chain link. A file
// that ends inside a record is an error, with Truncated set, and seg
// describes the complete records before it, so that a reopened log can
// recover.
func parseFile(name string, data []byte) (seg segment, verr *VerifyError) {
	fail := func(line, end int, format string, args ...any) (segment, *VerifyError) {
		return seg, &VerifyError{File: name, Line: line, EndLine: end, Msg: fmt.Sprintf(format, args...)}
	}
	pos, lineNo := 0, 0
	// nextLine returns the next line without its "\n"; ok is false at the
	// end of data, and complete is false for a final line with no "\n".
	nextLine := func() (line []byte, complete, ok bool) {
		if pos >= len(data) {
			return nil, false, false
		}
		lineNo++
		i := bytes.IndexByte(data[pos:], '\n')
		if i < 0 {
			line, pos = data[pos:], len(data)
			return line, false, true
		}
		line = data[pos : pos+i]
		pos += i + 1
		return line, true, true
	}
	for i, want := range []string{headerMagic, prevPrefix, headerLDIF} {
		l, complete, ok := nextLine()
		if !ok || !complete {
			if i == 0 && !ok {
				return fail(1, 0, "empty file: no header")
			}
			return fail(lineNo, 0, "incomplete header")
		}
		if i == 1 {
			d, ok := parseDigest(bytes.TrimPrefix(l, []byte(prevPrefix)))
			if !bytes.HasPrefix(l, []byte(prevPrefix)) || !ok {
				return fail(lineNo, 0, "header: want %q followed by 64 hex digits", prevPrefix)
			}
			seg.Previous, seg.Head = d, d
			continue
		}
		if string(l) != want {
			return fail(lineNo, 0, "header: want %q", want)
		}
	}
	seg.End = pos
	for {
		l, complete, ok := nextLine()
		if !ok {
			return seg, nil
		}
		if len(l) != 0 || !complete {
			return fail(lineNo, 0, "want the blank line that starts a record (a line was added, removed or joined)")
		}
		start, bodyStart := lineNo+1, pos
		for {
			chainStart := pos
			l, complete, ok := nextLine()
			if !ok || !complete {
				if lineNo < start {
					start = lineNo
				}
				seg.Torn = start
				_, e := fail(start, lineNo, "incomplete final record: the file ends before its chain line (truncated, or a write torn by a crash)")
				e.Truncated = true
				return seg, e
			}
			if len(l) == 0 {
				return fail(start, lineNo, "record has no chain line (a line was removed, or records were cut apart)")
			}
			if !bytes.HasPrefix(l, []byte(chainPrefix)) {
				continue
			}
			got, ok := parseDigest(l[len(chainPrefix):])
			if !ok {
				return fail(lineNo, 0, "malformed chain line")
			}
			if lineNo == start {
				return fail(lineNo, 0, "chain line with no record")
			}
			want := next(seg.Head, data[bodyStart:chainStart])
			if got != want {
				return fail(start, lineNo, "chain broken: this record, or one before it in the chain, was edited, removed or reordered")
			}
			seg.Head, seg.End = got, pos
			seg.Records++
			break
		}
	}
}
