package ldap

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
)

func TestReadTLV(t *testing.T) {
	for _, tc := range []struct {
		in      []byte
		tag     byte
		content string
		rest    int
		err     error
	}{
		{in: []byte{0x04, 0x02, 'h', 'i', 0xff}, tag: 0x04, content: "hi", rest: 1},
		{in: []byte{0x04, 0x81, 0x02, 'h', 'i'}, tag: 0x04, content: "hi"},
		{in: []byte{0x04, 0x84, 0, 0, 0, 2, 'h', 'i'}, tag: 0x04, content: "hi"},
		{in: []byte{0x04, 0x00}, tag: 0x04, content: ""},
		{in: []byte{0x04}, err: errTruncated},
		{in: []byte{0x1f, 0x01, 0x00}, err: errHighTag},
		{in: []byte{0x30, 0x80, 0x00, 0x00}, err: errIndefinite},
		{in: []byte{0x30, 0x85, 0, 0, 0, 0, 0}, err: errLongLength},
		{in: []byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff}, err: errOverrun},
		{in: []byte{0x30, 0x82, 0x01}, err: errTruncated},
		{in: []byte{0x30, 0x03, 0x01}, err: errOverrun},
	} {
		tag, c, rest, err := readTLV(tc.in)
		if err != tc.err || tag != tc.tag || string(c) != tc.content || len(rest) != tc.rest {
			t.Errorf("readTLV(% x) = %x %q %d %v", tc.in, tag, c, len(rest), err)
		}
	}
}

func TestParseIntAndBool(t *testing.T) {
	for in, want := range map[string]int64{"00": 0, "7f": 127, "0080": 128, "ff": -1, "80": -128, "7fffffff": maxInt, "80000000": -1 << 31, "000001": 1} {
		b, _ := hex.DecodeString(in)
		if got, err := parseInt(b); err != nil || got != want {
			t.Errorf("parseInt(%s) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0000000001"} {
		b, _ := hex.DecodeString(in)
		if _, err := parseInt(b); err == nil {
			t.Errorf("parseInt(%s) accepted", in)
		}
	}
	if v, err := parseBool([]byte{0x01}); !v || err != nil {
		t.Error("BOOLEAN 01 is TRUE in BER")
	}
	if v, err := parseBool([]byte{0x00}); v || err != nil {
		t.Error("BOOLEAN 00")
	}
	if _, err := parseBool([]byte{0x00, 0x00}); err == nil {
		t.Error("two-octet BOOLEAN accepted")
	}
}

// TestWriteFuzzCorpus regenerates testdata/fuzz/<Fuzz...>/ seed files from
// the f.Add seeds when SWITCHBOARD_WRITE_CORPUS=1 is set.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("SWITCHBOARD_WRITE_CORPUS") != "1" {
		t.Skip("set SWITCHBOARD_WRITE_CORPUS=1 to regenerate the seed corpus")
	}
	write := func(fuzz, typ string, v []byte) {
		dir := filepath.Join("testdata", "fuzz", fuzz)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(v)
		body := "go test fuzz v1\n" + typ + "(" + strconv.Quote(string(v)) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, "seed-"+hex.EncodeToString(sum[:8])), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range seedPDUs(t) {
		write("FuzzReadPDUDecode", "[]byte", p)
	}
	for _, s := range crossCheckFilters {
		write("FuzzParseFilter", "string", []byte(s))
		p, err := goldap.CompileFilter(s)
		if err != nil {
			t.Fatal(err)
		}
		write("FuzzDecodeFilter", "[]byte", p.Bytes())
	}
	write("FuzzParseFilter", "string", []byte(strings.Repeat("(!", 120)+"(a=b)"+strings.Repeat(")", 120)))
	write("FuzzDecodeFilter", "[]byte", []byte{0xa9, 0x03, 0x83, 0x01, 'x'})
	write("FuzzDecodeFilter", "[]byte", []byte{0xa4, 0x06, 0x04, 0x02, 'c', 'n', 0x30, 0x00})
	for _, s := range []string{"dc=example,dc=com", `cn=a\,b+sn=c`, `cn=\23x\ `, "cn=#04024869", " cn = x ; 2.5.4.3 = y ", `cn=\`, "cn=#zz", "cn=a,,dc=x"} {
		write("FuzzParseDN", "string", []byte(s))
	}
}
