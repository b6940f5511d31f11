package ldif

import (
	"bytes"
	"errors"
	"io"
	"strings"
)

// readAll reads every record, collecting errors and continuing after
// recoverable ones. It stops after a repeated (sticky) error.
func readAll(in string, opt ReaderOptions) ([]*Record, []error) {
	r := NewReader(strings.NewReader(in), opt)
	var recs []*Record
	var errs []error
	for i := 0; i < 10000; i++ {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if len(errs) > 0 && errs[len(errs)-1] == err {
				break
			}
			errs = append(errs, err)
			continue
		}
		recs = append(recs, rec)
	}
	return recs, errs
}

func equalAttrs(a, b []Attr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !equalValues(a[i].Values, b[i].Values) {
			return false
		}
	}
	return true
}

func equalValues(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// equalRecord compares two records ignoring Line; nil and empty byte slices
// are equal.
func equalRecord(a, b *Record) bool {
	if a.DN != b.DN || a.ChangeType != b.ChangeType || a.NewRDN != b.NewRDN ||
		a.DeleteOldRDN != b.DeleteOldRDN || a.NewSuperior != b.NewSuperior ||
		a.HasNewSuperior != b.HasNewSuperior || !equalAttrs(a.Attrs, b.Attrs) ||
		len(a.Mods) != len(b.Mods) || len(a.Controls) != len(b.Controls) {
		return false
	}
	for i := range a.Mods {
		if a.Mods[i].Op != b.Mods[i].Op || !equalAttrs([]Attr{a.Mods[i].Attr}, []Attr{b.Mods[i].Attr}) {
			return false
		}
	}
	for i := range a.Controls {
		x, y := a.Controls[i], b.Controls[i]
		if x.OID != y.OID || x.Critical != y.Critical || x.HasValue != y.HasValue || !bytes.Equal(x.Value, y.Value) {
			return false
		}
	}
	return true
}

func asParseError(err error) *ParseError {
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}
