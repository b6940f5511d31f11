package changelog

import (
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/replication/merge"
)

// TestEncodingsUnchanged checks that the format 1 RFC 4533 changelog
// records written before the change vocabulary moved to package change
// decode in the migration as they were written: the kinds are 1-4 in
// both, a modification is 1-3 (add, delete, replace) in the op log and
// 0-2 (RFC 4511's) in the changelog.
func TestEncodingsUnchanged(t *testing.T) {
	u := "00000000-0000-0000-0000-000000000075"
	for _, tc := range []struct{ name, hex, want string }{
		{"modify record", "0102" + "24" + hex.EncodeToString([]byte(u)) + "04636e3d780300016101013101016200020163010132",
			"modify " + u + " cn=x [{add a [1]} {delete b []} {replace c [2]}]"},
		{"modrdn record", "0104" + "24" + hex.EncodeToString([]byte(u)) + "04636e3d7804636e3d7901" + "24" + hex.EncodeToString([]byte(u)),
			"modrdn " + u + " cn=x -> cn=y [" + u + "]"},
	} {
		b, _ := hex.DecodeString(tc.hex)
		r, err := decodeLegacyRecord(b)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := fmt.Sprintf("%s %s %s", r.Op.Kind, r.Op.Entry, r.DN)
		if r.Op.Kind == change.ModRDN {
			got += fmt.Sprintf(" -> %s %v", r.NewDN, r.Also)
		} else {
			got += fmt.Sprintf(" %v", r.Op.Mods)
		}
		if got != tc.want {
			t.Errorf("%s decodes as\n%s, want\n%s", tc.name, got, tc.want)
		}
	}
	// The change log's record: format 2, flags, the op, the feed fields.
	rec := &LogRecord{Feed: true, Replicated: true, DN: "cn=x", NewDN: "cn=y", Also: []merge.UUID{{7}},
		Op: merge.Op{CSN: change.CSN{Time: time.Date(2026, 3, 1, 12, 0, 2, 0, time.UTC).UnixMicro(), Replica: 3}, Kind: change.ModRDN, Entry: merge.UUID{6: 0x40, 8: 0x80, 15: 10}, Parent: merge.UUID{5}, RDN: "cn=y"}}
	if got, want := hex.EncodeToString(rec.AppendBinary(nil, nil)),
		"02030100064bf535cd94800000000003000000040000000000004000800000000000000a05000000000000000000000000000000"+
			"04636e3d790004636e3d7804636e3d790107000000000000000000000000000000"; got != want {
		t.Errorf("log record encodes as\n%s, want\n%s", got, want)
	}
}
