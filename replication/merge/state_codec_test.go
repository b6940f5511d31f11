package merge

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
)

func codecSamples() []*Op {
	return []*Op{
		suffixAdd(),
		opAdd(at(1, 2), x, suffix, "cn=x", "objectClass: person", "cn: x", "description: ", "userPassword: \x00\xff"),
		opMod(at(2, 3), x, modAdd("description", "a", "b"), modDel("description"), modRepl("displayName", "X")),
		opDel(at(3, 4), x),
		opMove(at(4, 5), x, id(9), "cn=y", "cn=x"),
		opMove(at(5, 6), x, id(9), "cn=z", ""),
		{CSN: change.CSN{Time: change.MaxTime, Counter: change.MaxCounter, Replica: change.MaxReplica, Sub: change.MaxSub}, Kind: change.Delete, Entry: id(255)},
	}
}

func TestOpRoundTrip(t *testing.T) {
	for _, o := range codecSamples() {
		b := o.AppendBinary(nil)
		got, err := DecodeOp(b)
		if err != nil {
			t.Fatalf("DecodeOp(%s %s): %v", o.Kind, o.CSN, err)
		}
		if !reflect.DeepEqual(&got, o) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, *o)
		}
	}
	// The version byte, then the CSN's binary form, then the kind.
	b := opDel(at(3, 4), x).AppendBinary(nil)
	if len(b) != 1+change.CSNSize+1+16 || b[0] != OpFormat || !bytes.Equal(b[1:17], at(3, 4).AppendBinary(nil)) || b[17] != byte(change.Delete) {
		t.Fatalf("delete encodes as %x", b)
	}
}

func TestDecodeOpRejects(t *testing.T) {
	good := opMod(at(2, 3), x, modAdd("description", "a")).AppendBinary(nil)
	bad := map[string][]byte{
		"empty":          nil,
		"version 2":      append([]byte{2}, good[1:]...),
		"truncated":      good[:len(good)-1],
		"trailing":       append(good[:len(good):len(good)], 0),
		"kind 9":         func() []byte { b := bytes.Clone(good); b[17] = 9; return b }(),
		"mod kind 0":     func() []byte { b := bytes.Clone(good); b[35] = 0; return b }(),
		"huge count":     append(bytes.Clone(good[:34]), 0xff, 0xff, 0xff, 0xff, 0x0f),
		"long varint":    append(append(bytes.Clone(good[:34]), 0x81, 0x00), good[35:]...),
		"replica > 4095": func() []byte { b := bytes.Clone(good); b[12] = 0xff; return b }(),
	}
	for name, b := range bad {
		if _, err := DecodeOp(b); !errors.Is(err, ErrOpSyntax) {
			t.Errorf("%s: DecodeOp(%x) err = %v, want ErrOpSyntax", name, b, err)
		}
	}
}

// FuzzDecodeOp: DecodeOp never panics; what it accepts re-encodes to
// the same bytes (the form is canonical), and applying it is safe.
func FuzzDecodeOp(f *testing.F) {
	for _, o := range codecSamples() {
		f.Add(o.AppendBinary(nil))
	}
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := DecodeOp(b)
		if err != nil {
			if !errors.Is(err, ErrOpSyntax) {
				t.Fatalf("error %v does not wrap ErrOpSyntax", err)
			}
			return
		}
		if again := o.AppendBinary(nil); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, again)
		}
		s := NewState(testSchema{})
		if err := s.Apply(&o); err == nil {
			s.Digest()
			s.Conflicts()
		} else if !errors.Is(err, ErrBadOp) {
			t.Fatalf("Apply error %v does not wrap ErrBadOp", err)
		}
	})
}
