package merge

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestOpEncodingUnchanged pins the op log's bytes to what the store
// format had before the change vocabulary moved to package change (the
// values were computed with that code).
func TestOpEncodingUnchanged(t *testing.T) {
	var all []byte
	for _, o := range codecSamples() {
		all = o.AppendBinary(all)
	}
	sum := sha256.Sum256(all)
	for _, tc := range []struct{ name, got, want string }{
		{"op samples (sha256)", hex.EncodeToString(sum[:]), "7bcd66dcf6b397345b82aaef6d7445b56047569b2af7b0b80cc540d363a5d19c"},
		{"modify op", hex.EncodeToString(opMod(at(2, 3), x, modAdd("description", "a", "b"), modDel("description"), modRepl("displayName", "X")).AppendBinary(nil)),
			"0100064bf535cd94800000000003000000020000000000004000800000000000000a03010b6465736372697074696f6e0201610162020b6465736372697074696f6e00030b646973706c61794e616d65010158"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s encodes as\n%s, want\n%s", tc.name, tc.got, tc.want)
		}
	}
}
