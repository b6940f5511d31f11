package replication

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
)

// TestEncodingsUnchanged pins the op log's and the changelog's record
// bytes to what the store format had before the change vocabulary moved
// to package change (the values were computed with that code): the kinds
// are 1-4 in both, a modification is 1-3 (add, delete, replace) in the
// op log and 0-2 (RFC 4511's) in the changelog.
func TestEncodingsUnchanged(t *testing.T) {
	var all []byte
	for _, o := range codecSamples() {
		all = o.AppendBinary(all)
	}
	sum := sha256.Sum256(all)
	for _, tc := range []struct{ name, got, want string }{
		{"op samples (sha256)", hex.EncodeToString(sum[:]), "7bcd66dcf6b397345b82aaef6d7445b56047569b2af7b0b80cc540d363a5d19c"},
		{"modify op", hex.EncodeToString(opMod(at(2, 3), x, modAdd("description", "a", "b"), modDel("description"), modRepl("displayName", "X")).AppendBinary(nil)),
			"0100064bf535cd94800000000003000000020000000000004000800000000000000a03010b6465736372697074696f6e0201610162020b6465736372697074696f6e00030b646973706c61794e616d65010158"},
		{"modify record", hex.EncodeToString((&Record{Kind: change.Modify, UUID: "u", DN: "cn=x", Mods: []directory.Mod{
			{Op: change.ModAdd, Attr: directory.Attr{Name: "a", Values: [][]byte{[]byte("1")}}},
			{Op: change.ModDelete, Attr: directory.Attr{Name: "b"}},
			{Op: change.ModReplace, Attr: directory.Attr{Name: "c", Values: [][]byte{[]byte("2")}}},
		}}).appendBinary(nil, nil)), "0102017504636e3d780300016101013101016200020163010132"},
		{"modrdn record", hex.EncodeToString((&Record{Kind: change.ModRDN, UUID: "u", DN: "cn=x", NewDN: "cn=y", Also: []string{"v"}}).appendBinary(nil, nil)),
			"0104017504636e3d7804636e3d79010176"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s encodes as\n%s, want\n%s", tc.name, tc.got, tc.want)
		}
	}
}
