package replication

import (
	"bytes"
	"testing"

	"github.com/switchboard-ldap/switchboard/schema"
)

func TestSyncreplRecordRoundTrip(t *testing.T) {
	for _, ck := range [][]byte{{}, []byte("rid=001,csn=20261204162233.000000Z#000000#000#000000")} {
		b := appendSyncreplRecord(nil, 0x0102030405060708, ck)
		fp, got, err := decodeSyncreplRecord(b)
		if err != nil || fp != 0x0102030405060708 || !bytes.Equal(got, ck) {
			t.Fatalf("%q: got %x %q %v", ck, fp, got, err)
		}
	}
	for _, bad := range [][]byte{nil, {1}, {2, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if _, _, err := decodeSyncreplRecord(bad); err == nil {
			t.Errorf("%x decoded", bad)
		}
	}
}

func TestSyncreplFingerprint(t *testing.T) {
	a := SyncreplConfig{URL: "ldap://a", Base: "dc=x", Filter: "(objectClass=*)"}
	b := a
	b.LocalBase = "ou=y,dc=x"
	c := a
	c.Attributes = []string{"cn"}
	if a.fingerprint() == b.fingerprint() || a.fingerprint() == c.fingerprint() {
		t.Fatal("the fingerprint ignores the local base or the attributes")
	}
}

func TestDNMap(t *testing.T) {
	sc, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	m, err := newDNMap(sc, "ou=People,dc=remote,dc=org", "ou=partner,dc=example,dc=com")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"uid=a,ou=people,DC=Remote,dc=org":     "uid=a,ou=partner,dc=example,dc=com",
		"ou=people,dc=remote,dc=org":           "ou=partner,dc=example,dc=com",
		"cn=x+sn=y,ou=people,dc=remote,dc=org": "cn=x+sn=y,ou=partner,dc=example,dc=com",
	} {
		if got, ok := m.toLocal(in); !ok || got != want {
			t.Errorf("%s -> %s %v, want %s", in, got, ok, want)
		}
	}
	for _, out := range []string{"uid=a,ou=groups,dc=remote,dc=org", "dc=org", "not a dn"} {
		if got, ok := m.toLocal(out); ok || got != out {
			t.Errorf("%s mapped to %s", out, got)
		}
	}
	id, err := newDNMap(sc, "dc=example,dc=com", "DC=Example,dc=com")
	if err != nil || !id.identity {
		t.Fatalf("same base not the identity: %v", err)
	}
}

// FuzzDecodeSyncreplRecord: the stored position decodes without a panic
// and what decodes encodes back to the same bytes.
func FuzzDecodeSyncreplRecord(f *testing.F) {
	f.Add(appendSyncreplRecord(nil, 42, []byte("rid=001,csn=20261204162233.000000Z#000000#000#000000")))
	f.Add(appendSyncreplRecord(nil, 0, nil))
	f.Add([]byte{1, 2, 3})
	f.Add([]byte{9, 0, 0, 0, 0, 0, 0, 0, 0, 'x'})
	f.Fuzz(func(t *testing.T, b []byte) {
		fp, ck, err := decodeSyncreplRecord(b)
		if err != nil {
			return
		}
		if again := appendSyncreplRecord(nil, fp, ck); !bytes.Equal(again, b) {
			t.Fatalf("%x re-encodes as %x", b, again)
		}
	})
}
