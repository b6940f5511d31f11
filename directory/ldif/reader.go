package ldif

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"unicode/utf8"

	"github.com/switchboard-ldap/switchboard/change"
)

// DefaultMaxRecordBytes is the default limit on the size of one record.
const DefaultMaxRecordBytes = 16 << 20

// ReaderOptions configure a Reader. The zero value is a safe default.
type ReaderOptions struct {
	// AllowURLs enables ":<" URL values. Only file:// URLs naming a local
	// file are supported. Leave it off for untrusted input: it lets the
	// input read any file the process can read.
	AllowURLs bool
	// MaxLineLength limits the length of one unfolded line in bytes.
	// Zero means MaxRecordBytes.
	MaxLineLength int
	// MaxRecordBytes limits the size of one record (its unfolded lines
	// plus any URL contents). Zero means DefaultMaxRecordBytes.
	MaxRecordBytes int
}

// span is one logical (unfolded) line inside Reader.buf.
type span struct {
	start, end int
	line       int // physical line where it starts
}

// Reader reads LDIF records from an input stream. It is not safe for
// concurrent use.
type Reader struct {
	br  *bufio.Reader
	opt ReaderOptions

	lineNo  int    // physical lines read so far
	long    []byte // scratch for physical lines longer than the bufio buffer
	eof     bool
	started bool // a record (or version line) has been seen
	err     error

	buf   []byte // logical lines of the current record
	lines []span

	urlBytes int
	intern   map[string]string
}

const maxIntern = 4096

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader, opt ReaderOptions) *Reader {
	if opt.MaxRecordBytes <= 0 {
		opt.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if opt.MaxLineLength <= 0 || opt.MaxLineLength > opt.MaxRecordBytes {
		opt.MaxLineLength = opt.MaxRecordBytes
	}
	return &Reader{
		br:     bufio.NewReaderSize(r, 64<<10),
		opt:    opt,
		intern: make(map[string]string),
	}
}

func perr(line int, format string, args ...any) *ParseError {
	return &ParseError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// readPhysical returns the next physical line without its line terminator.
// The slice is valid until the next call. ok is false at end of input.
func (r *Reader) readPhysical() (line []byte, ok bool, err error) {
	if r.eof {
		return nil, false, nil
	}
	line, err = r.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		r.long = append(r.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(r.long) > r.opt.MaxLineLength+2 {
				return nil, false, perr(r.lineNo+1, "line exceeds %d bytes", r.opt.MaxLineLength)
			}
			line, err = r.br.ReadSlice('\n')
			r.long = append(r.long, line...)
		}
		line = r.long
	}
	if err != nil {
		if err != io.EOF {
			return nil, false, err
		}
		r.eof = true
		if len(line) == 0 {
			return nil, false, nil
		}
	}
	r.lineNo++
	if r.lineNo == 1 && bytes.HasPrefix(line, []byte("\xef\xbb\xbf")) {
		line = line[3:]
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	if len(line) > r.opt.MaxLineLength {
		return nil, false, perr(r.lineNo, "line exceeds %d bytes", r.opt.MaxLineLength)
	}
	return line, true, nil
}

// gather collects the logical lines of the next record into r.buf/r.lines.
// It returns false at end of input. A syntax error (broken folding) is
// returned after the whole record has been consumed so that reading can
// resume with the next record.
func (r *Reader) gather() (bool, error) {
	r.buf = r.buf[:0]
	r.lines = r.lines[:0]
	var synErr error
	inComment := false
	seen := false // saw a non-blank line in this record
	for {
		line, ok, err := r.readPhysical()
		if err != nil {
			r.err = err
			return false, err
		}
		if !ok {
			break
		}
		if len(line) == 0 {
			if seen {
				break // blank line ends the record
			}
			continue
		}
		seen = true
		if line[0] == ' ' {
			if inComment {
				continue
			}
			if len(r.lines) == 0 {
				if synErr == nil {
					synErr = perr(r.lineNo, "continuation line (starting with a space) at the start of a record")
				}
				continue
			}
			l := &r.lines[len(r.lines)-1]
			if l.end-l.start+len(line)-1 > r.opt.MaxLineLength {
				r.err = perr(l.line, "line exceeds %d bytes", r.opt.MaxLineLength)
				return false, r.err
			}
			r.buf = append(r.buf, line[1:]...)
			l.end = len(r.buf)
		} else if line[0] == '#' {
			inComment = true
			continue
		} else {
			inComment = false
			start := len(r.buf)
			r.buf = append(r.buf, line...)
			r.lines = append(r.lines, span{start: start, end: len(r.buf), line: r.lineNo})
		}
		if len(r.buf) > r.opt.MaxRecordBytes {
			r.err = perr(r.lineNo, "record exceeds %d bytes", r.opt.MaxRecordBytes)
			return false, r.err
		}
	}
	if synErr != nil {
		return true, synErr
	}
	return seen, nil
}

// Next returns the next record, or io.EOF at the end of the input. Syntax
// errors are returned as *ParseError; after a syntax error in a record, the
// next call continues with the following record. I/O errors and size-limit
// errors are permanent: every later call returns the same error.
//
// The returned record is owned by the caller. Its values share one backing
// array per record (not with other records), so retaining one value retains
// that record's value bytes.
func (r *Reader) Next() (*Record, error) {
	for {
		if r.err != nil {
			return nil, r.err
		}
		ok, err := r.gather()
		if err != nil {
			r.started = true
			return nil, err
		}
		if !ok {
			return nil, io.EOF
		}
		if len(r.lines) == 0 {
			continue // only comments
		}
		lines := r.lines
		if !r.started {
			r.started = true
			l := lines[0]
			typ, _, _ := r.splitLine(l)
			if equalFold(typ, "version") {
				if err := r.checkVersion(l); err != nil {
					return nil, err
				}
				lines = lines[1:]
				if len(lines) == 0 {
					continue
				}
			}
		}
		return r.parseRecord(lines)
	}
}

func (r *Reader) checkVersion(l span) error {
	_, rest, ok := r.splitLine(l)
	if !ok {
		return perr(l.line, "missing ':' after version")
	}
	v := bytes.TrimRight(bytes.TrimLeft(rest, " "), " ")
	if string(v) != "1" {
		return perr(l.line, "unsupported LDIF version %q (only version 1 is supported)", v)
	}
	return nil
}

// splitLine splits a logical line at its first colon: the attribute
// description and everything after the colon.
func (r *Reader) splitLine(l span) (typ, rest []byte, ok bool) {
	b := r.buf[l.start:l.end]
	i := bytes.IndexByte(b, ':')
	if i < 0 {
		return b, nil, false
	}
	return b[:i], b[i+1:], true
}

// recState is the per-record parsing state.
type recState struct {
	r     *Reader
	arena []byte
	index map[string]int // lowercased type -> index in attrs, for large records

	vbuf      [][]byte // shared backing array for attribute values
	tail      int      // index of the attr whose values end vbuf, or -1
	tailStart int      // start of that attr's values in vbuf
	scratch   []byte
}

// value decodes the value-spec after the colon (":" already consumed).
func (s *recState) value(l span, typ, rest []byte) ([]byte, error) {
	r := s.r
	if len(rest) > 0 && rest[0] == ':' {
		b := trimSpaces(rest[1:])
		start := len(s.arena)
		s.arena = grow(s.arena, base64.StdEncoding.DecodedLen(len(b)))
		n, err := base64.StdEncoding.Decode(s.arena[start:], b)
		if err != nil || bytes.ContainsAny(b, "\r\n") {
			s.arena = s.arena[:start]
			return nil, perr(l.line, "invalid base64 value for %q", typ)
		}
		s.arena = s.arena[:start+n]
		return s.arena[start : start+n : start+n], nil
	}
	if len(rest) > 0 && rest[0] == '<' {
		if !r.opt.AllowURLs {
			return nil, perr(l.line, "URL values are disabled (value of %q)", typ)
		}
		return r.readURL(l, trimSpaces(rest[1:]))
	}
	b := bytes.TrimLeft(rest, " ")
	ascii := true
	for _, c := range b {
		if c == 0 || c == '\r' {
			return nil, perr(l.line, "NUL or CR in value of %q (use base64)", typ)
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(b) {
		return nil, perr(l.line, "value of %q is not valid UTF-8 (use base64)", typ)
	}
	start := len(s.arena)
	s.arena = append(s.arena, b...)
	return s.arena[start:len(s.arena):len(s.arena)], nil
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), 2*cap(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}

func trimSpaces(b []byte) []byte {
	return bytes.TrimRight(bytes.TrimLeft(b, " "), " ")
}

func (r *Reader) readURL(l span, raw []byte) ([]byte, error) {
	u, err := url.Parse(string(raw))
	if err != nil {
		return nil, perr(l.line, "invalid URL %q: %v", raw, err)
	}
	if u.Scheme != "file" {
		return nil, perr(l.line, "unsupported URL scheme %q (only file:// is supported)", u.Scheme)
	}
	if u.Host != "" && u.Host != "localhost" {
		return nil, perr(l.line, "file URL %q names a remote host", raw)
	}
	if u.Path == "" || u.Path[0] != '/' {
		return nil, perr(l.line, "file URL %q has no absolute path", raw)
	}
	f, err := os.Open(u.Path)
	if err != nil {
		return nil, perr(l.line, "reading URL value: %v", err)
	}
	defer f.Close()
	budget := r.opt.MaxRecordBytes - r.urlBytes
	data, err := io.ReadAll(io.LimitReader(f, int64(budget)+1))
	if err != nil {
		return nil, perr(l.line, "reading URL value: %v", err)
	}
	if len(data) > budget {
		return nil, perr(l.line, "URL value %q makes the record exceed %d bytes", raw, r.opt.MaxRecordBytes)
	}
	r.urlBytes += len(data)
	return data, nil
}

// dnValue decodes a value that must be a UTF-8 string (DN, RDN).
func (s *recState) dnValue(l span, typ, rest []byte) (string, error) {
	if len(rest) > 0 && rest[0] == '<' {
		return "", perr(l.line, "URL not allowed for %q", typ)
	}
	v, err := s.value(l, typ, rest)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(v) {
		return "", perr(l.line, "%s is not valid UTF-8", typ)
	}
	return string(v), nil
}

func (r *Reader) internType(b []byte) string {
	if s, ok := r.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(r.intern) < maxIntern {
		r.intern[s] = s
	}
	return s
}

// attrval parses an attrval-spec line.
func (s *recState) attrval(l span) (typ, val []byte, err error) {
	typ, rest, ok := s.r.splitLine(l)
	if !ok {
		return nil, nil, perr(l.line, "missing ':' in line %q", truncate(typ))
	}
	if !validAttrDesc(typ) {
		return nil, nil, perr(l.line, "invalid attribute description %q", truncate(typ))
	}
	if reserved(typ) {
		return nil, nil, perr(l.line, "unexpected %q line (missing blank line between records?)", typ)
	}
	val, err = s.value(l, typ, rest)
	return typ, val, err
}

func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}

// addValue merges a value into attrs, keeping the order of first appearance.
// Values of consecutive lines share one backing array (s.vbuf).
func (s *recState) addValue(attrs []Attr, typ, val []byte) []Attr {
	if n := len(attrs); n > 0 && equalFold(typ, attrs[n-1].Name) {
		if s.tail == n-1 && len(s.vbuf) < cap(s.vbuf) {
			s.vbuf = append(s.vbuf, val)
			attrs[n-1].Values = s.vbuf[s.tailStart:len(s.vbuf):len(s.vbuf)]
		} else {
			attrs[n-1].Values = append(attrs[n-1].Values, val)
		}
		return attrs
	}
	i := -1
	if s.index == nil {
		for j := range attrs {
			if equalFold(typ, attrs[j].Name) {
				i = j
				break
			}
		}
		if i < 0 && len(attrs) >= 32 {
			s.index = make(map[string]int, 2*len(attrs))
			for j := range attrs {
				s.scratch = lowerInto(s.scratch, attrs[j].Name)
				s.index[string(s.scratch)] = j
			}
		}
	}
	if s.index != nil {
		s.scratch = lowerInto(s.scratch, typ)
		if j, ok := s.index[string(s.scratch)]; ok {
			i = j
		} else {
			s.index[string(s.scratch)] = len(attrs)
		}
	}
	if i >= 0 {
		attrs[i].Values = append(attrs[i].Values, val)
		return attrs
	}
	start := len(s.vbuf)
	s.vbuf = append(s.vbuf, val)
	s.tail, s.tailStart = len(attrs), start
	return append(attrs, Attr{Name: s.r.internType(typ), Values: s.vbuf[start:len(s.vbuf):len(s.vbuf)]})
}

// lowerInto appends src in ASCII lower case to dst[:0].
func lowerInto[T string | []byte](dst []byte, src T) []byte {
	dst = dst[:0]
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func (r *Reader) parseRecord(lines []span) (*Record, error) {
	r.urlBytes = 0
	s := recState{r: r, arena: make([]byte, 0, len(r.buf))}
	first := lines[0]
	typ, rest, ok := r.splitLine(first)
	if !ok || !equalFold(typ, "dn") {
		if ok && equalFold(typ, "version") {
			return nil, perr(first.line, "version: is only allowed as the first line of the file")
		}
		return nil, perr(first.line, "record does not start with dn:")
	}
	dn, err := s.dnValue(first, typ, rest)
	if err != nil {
		return nil, err
	}
	rec := &Record{Line: first.line, DN: dn}
	lines = lines[1:]

	// controls, then changetype
	for len(lines) > 0 {
		l := lines[0]
		typ, rest, ok := r.splitLine(l)
		if !ok || !equalFold(typ, "control") {
			break
		}
		c, err := s.control(l, rest)
		if err != nil {
			return nil, err
		}
		rec.Controls = append(rec.Controls, c)
		lines = lines[1:]
	}
	if len(lines) > 0 {
		l := lines[0]
		typ, rest, ok := r.splitLine(l)
		if ok && equalFold(typ, "changetype") {
			if len(rest) > 0 && (rest[0] == ':' || rest[0] == '<') {
				return nil, perr(l.line, "changetype must be a plain value")
			}
			ct := trimSpaces(rest)
			switch {
			case equalFold(ct, "add"):
				rec.ChangeType = ChangeAdd
			case equalFold(ct, "delete"):
				rec.ChangeType = ChangeDelete
			case equalFold(ct, "modify"):
				rec.ChangeType = ChangeModify
			case equalFold(ct, "modrdn"), equalFold(ct, "moddn"):
				rec.ChangeType = ChangeModRDN
			default:
				return nil, perr(l.line, "unknown changetype %q", truncate(ct))
			}
			lines = lines[1:]
		}
	}
	if rec.ChangeType == "" && len(rec.Controls) > 0 {
		return nil, perr(first.line, "control: lines must be followed by changetype:")
	}

	switch rec.ChangeType {
	case "", ChangeAdd:
		if len(lines) == 0 {
			return nil, perr(first.line, "entry %q has no attributes", truncate([]byte(dn)))
		}
		rec.Attrs = make([]Attr, 0, min(len(lines), 64))
		s.vbuf = make([][]byte, 0, len(lines))
		s.tail = -1
		for _, l := range lines {
			typ, val, err := s.attrval(l)
			if err != nil {
				return nil, err
			}
			rec.Attrs = s.addValue(rec.Attrs, typ, val)
		}
	case ChangeDelete:
		if len(lines) > 0 {
			return nil, perr(lines[0].line, "unexpected line in delete record")
		}
	case ChangeModify:
		if err := s.modify(rec, lines); err != nil {
			return nil, err
		}
	case ChangeModRDN:
		if err := s.modrdn(rec, first, lines); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

func (s *recState) control(l span, rest []byte) (Control, error) {
	b := bytes.TrimLeft(rest, " ")
	i := 0
	for i < len(b) && (isDigit(b[i]) || b[i] == '.') {
		i++
	}
	if !validOID(b[:i]) {
		return Control{}, perr(l.line, "control: invalid OID")
	}
	c := Control{OID: string(b[:i])}
	b = b[i:]
	if len(b) > 0 && b[0] == ' ' {
		b = bytes.TrimLeft(b, " ")
		j := 0
		for j < len(b) && isAlpha(b[j]) {
			j++
		}
		switch {
		case j == 0:
		case equalFold(b[:j], "true"):
			c.Critical = true
		case equalFold(b[:j], "false"):
		default:
			return Control{}, perr(l.line, "control: criticality must be true or false")
		}
		b = bytes.TrimLeft(b[j:], " ")
	}
	if len(b) == 0 {
		return c, nil
	}
	if b[0] != ':' {
		return Control{}, perr(l.line, "control: unexpected %q after OID", truncate(b))
	}
	v, err := s.value(l, []byte("control"), b[1:])
	if err != nil {
		return Control{}, err
	}
	c.Value, c.HasValue = v, true
	return c, nil
}

func (s *recState) modify(rec *Record, lines []span) error {
	r := s.r
	for len(lines) > 0 {
		l := lines[0]
		lines = lines[1:]
		op, rest, ok := r.splitLine(l)
		var m Mod
		switch {
		case !ok:
			return perr(l.line, "expected add:, delete:, replace: or increment: in modify record, got %q", truncate(op))
		case equalFold(op, "add"):
			m.Op = change.ModAdd
		case equalFold(op, "delete"):
			m.Op = change.ModDelete
		case equalFold(op, "replace"):
			m.Op = change.ModReplace
		case equalFold(op, "increment"):
			m.Op = change.ModIncrement
		default:
			return perr(l.line, "expected add:, delete:, replace: or increment: in modify record, got %q", truncate(op))
		}
		if len(rest) > 0 && (rest[0] == ':' || rest[0] == '<') {
			return perr(l.line, "%s: needs a plain attribute description", m.Op)
		}
		desc := trimSpaces(rest)
		if !validAttrDesc(desc) {
			return perr(l.line, "invalid attribute description %q", truncate(desc))
		}
		if reserved(desc) {
			return perr(l.line, "attribute description %q is reserved", desc)
		}
		m.Attr.Name = r.internType(desc)
		for len(lines) > 0 {
			v := lines[0]
			b := r.buf[v.start:v.end]
			if len(bytes.TrimRight(b, " ")) == 1 && b[0] == '-' {
				lines = lines[1:]
				break
			}
			typ, val, err := s.attrval(v)
			if err != nil {
				return err
			}
			if !equalFold(typ, m.Attr.Name) {
				return perr(v.line, "attribute %q does not match %s: %s (missing '-' line?)", typ, m.Op, m.Attr.Name)
			}
			m.Attr.Values = append(m.Attr.Values, val)
			lines = lines[1:]
		}
		switch {
		case m.Op == change.ModAdd && len(m.Attr.Values) == 0:
			return perr(l.line, "add: %s has no values", m.Attr.Name)
		case m.Op == change.ModIncrement && len(m.Attr.Values) != 1:
			return perr(l.line, "increment: %s needs exactly one value", m.Attr.Name)
		}
		rec.Mods = append(rec.Mods, m)
	}
	return nil
}

func (s *recState) modrdn(rec *Record, first span, lines []span) error {
	r := s.r
	want := func(kw string) (span, []byte, error) {
		if len(lines) == 0 {
			return span{}, nil, perr(first.line, "modrdn record is missing %s:", kw)
		}
		l := lines[0]
		typ, rest, ok := r.splitLine(l)
		if !ok || !equalFold(typ, kw) {
			return span{}, nil, perr(l.line, "expected %s: in modrdn record", kw)
		}
		lines = lines[1:]
		return l, rest, nil
	}
	l, rest, err := want("newrdn")
	if err != nil {
		return err
	}
	if rec.NewRDN, err = s.dnValue(l, []byte("newrdn"), rest); err != nil {
		return err
	}
	l, rest, err = want("deleteoldrdn")
	if err != nil {
		return err
	}
	switch v := trimSpaces(rest); string(v) {
	case "0":
	case "1":
		rec.DeleteOldRDN = true
	default:
		return perr(l.line, "deleteoldrdn must be 0 or 1, got %q", truncate(v))
	}
	if len(lines) > 0 {
		if l, rest, err = want("newsuperior"); err != nil {
			return err
		}
		if rec.NewSuperior, err = s.dnValue(l, []byte("newsuperior"), rest); err != nil {
			return err
		}
		rec.HasNewSuperior = true
	}
	if len(lines) > 0 {
		return perr(lines[0].line, "unexpected line after newsuperior: in modrdn record")
	}
	return nil
}
