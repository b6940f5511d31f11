package ldif

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/switchboard-ldap/switchboard/change"
)

// foldWidth is the maximum length of an output line (RFC 2849 note 2
// suggests folding; 76 columns is the customary width).
const foldWidth = 76

// Writer writes LDIF records. Call Flush when done. Errors are sticky.
type Writer struct {
	w       *bufio.Writer
	err     error
	records int
	line    []byte // scratch logical line
}

// NewWriter returns a Writer that writes to w, starting with "version: 1".
func NewWriter(w io.Writer) *Writer {
	lw := &Writer{w: bufio.NewWriterSize(w, 64<<10)}
	_, lw.err = lw.w.WriteString("version: 1\n")
	return lw
}

// Flush writes any buffered data to the underlying writer.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	w.err = w.w.Flush()
	return w.err
}

// WriteEntry writes a content record.
func (w *Writer) WriteEntry(dn string, attrs []Attr) error {
	return w.WriteChange(&Record{DN: dn, Attrs: attrs})
}

// WriteChange writes rec: a content record if rec.ChangeType is "",
// otherwise a change record. rec.Line is ignored. The record is validated
// before anything is written, so an invalid record leaves the output
// unchanged.
func (w *Writer) WriteChange(rec *Record) error {
	if w.err != nil {
		return w.err
	}
	if err := validateRecord(rec); err != nil {
		return err
	}
	w.w.WriteByte('\n') // blank line after "version: 1" or the previous record
	w.records++
	w.valueLine("dn", []byte(rec.DN))
	for _, c := range rec.Controls {
		w.line = append(w.line[:0], "control: "...)
		w.line = append(w.line, c.OID...)
		if c.Critical {
			w.line = append(w.line, " true"...)
		}
		if c.HasValue {
			w.line = appendValueSpec(w.line, c.Value)
		}
		w.emit()
	}
	ct := rec.ChangeType
	if ct == "moddn" {
		ct = ChangeModRDN
	}
	if ct != "" {
		w.line = append(append(w.line[:0], "changetype: "...), ct...)
		w.emit()
	}
	switch ct {
	case "", ChangeAdd:
		for _, a := range rec.Attrs {
			for _, v := range a.Values {
				w.valueLine(a.Name, v)
			}
		}
	case ChangeModify:
		for _, m := range rec.Mods {
			w.line = append(append(append(w.line[:0], m.Op.String()...), ": "...), m.Attr.Name...)
			w.emit()
			for _, v := range m.Attr.Values {
				w.valueLine(m.Attr.Name, v)
			}
			w.w.WriteString("-\n")
		}
	case ChangeModRDN:
		w.valueLine("newrdn", []byte(rec.NewRDN))
		if rec.DeleteOldRDN {
			w.w.WriteString("deleteoldrdn: 1\n")
		} else {
			w.w.WriteString("deleteoldrdn: 0\n")
		}
		if rec.HasNewSuperior {
			w.valueLine("newsuperior", []byte(rec.NewSuperior))
		}
	}
	// bufio.Writer errors are sticky; pick them up here.
	if _, err := w.w.Write(nil); err != nil {
		w.err = err
	}
	return w.err
}

func validateRecord(rec *Record) error {
	if !utf8.ValidString(rec.DN) {
		return fmt.Errorf("ldif: DN is not valid UTF-8")
	}
	checkAttr := func(typ string) error {
		if !validAttrDesc(typ) {
			return fmt.Errorf("ldif: invalid attribute description %q", typ)
		}
		if reserved(typ) {
			return fmt.Errorf("ldif: attribute description %q is reserved", typ)
		}
		return nil
	}
	for _, c := range rec.Controls {
		if !validOID(c.OID) {
			return fmt.Errorf("ldif: invalid control OID %q", c.OID)
		}
	}
	switch rec.ChangeType {
	case "", ChangeAdd:
		if rec.ChangeType == "" && len(rec.Controls) > 0 {
			return errors.New("ldif: controls need a change record")
		}
		if len(rec.Attrs) == 0 {
			return fmt.Errorf("ldif: entry %q has no attributes", rec.DN)
		}
		for _, a := range rec.Attrs {
			if err := checkAttr(a.Name); err != nil {
				return err
			}
			if len(a.Values) == 0 {
				return fmt.Errorf("ldif: attribute %q has no values", a.Name)
			}
		}
	case ChangeDelete:
	case ChangeModify:
		for _, m := range rec.Mods {
			if !m.Op.Valid() {
				return fmt.Errorf("ldif: unknown modification %v", m.Op)
			}
			if err := checkAttr(m.Attr.Name); err != nil {
				return err
			}
			if m.Op == change.ModAdd && len(m.Attr.Values) == 0 {
				return fmt.Errorf("ldif: add: %s has no values", m.Attr.Name)
			}
			if m.Op == change.ModIncrement && len(m.Attr.Values) != 1 {
				return fmt.Errorf("ldif: increment: %s needs exactly one value", m.Attr.Name)
			}
		}
	case ChangeModRDN, "moddn":
		if !utf8.ValidString(rec.NewRDN) || !utf8.ValidString(rec.NewSuperior) {
			return errors.New("ldif: newrdn or newsuperior is not valid UTF-8")
		}
	default:
		return fmt.Errorf("ldif: unknown changetype %q", rec.ChangeType)
	}
	return nil
}

// appendValueSpec appends ": value" or ":: base64" (or ":" for an empty
// value).
func appendValueSpec(b, v []byte) []byte {
	if len(v) == 0 {
		return append(b, ':')
	}
	if isSafeString(v) {
		b = append(b, ": "...)
		return append(b, v...)
	}
	b = append(b, ":: "...)
	return base64.StdEncoding.AppendEncode(b, v)
}

func (w *Writer) valueLine(typ string, v []byte) {
	w.line = appendValueSpec(append(w.line[:0], typ...), v)
	w.emit()
}

// emit writes w.line folded at foldWidth columns: the first physical line
// holds foldWidth bytes, each continuation a space plus foldWidth-1 bytes.
func (w *Writer) emit() {
	b := w.line
	n := foldWidth
	for len(b) > n {
		w.w.Write(b[:n])
		w.w.WriteString("\n ")
		b = b[n:]
		n = foldWidth - 1
	}
	w.w.Write(b)
	w.w.WriteByte('\n')
}
