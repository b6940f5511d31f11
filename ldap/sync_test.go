package ldap

import (
	"bytes"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

func TestSyncRequestRoundTrip(t *testing.T) {
	for _, r := range []SyncRequest{
		{Mode: SyncRefreshOnly},
		{Mode: SyncRefreshAndPersist, Cookie: []byte("rid=001,csn=20250101120000.000000Z#000000#001#000000")},
		{Mode: SyncRefreshOnly, Cookie: []byte{}, ReloadHint: true},
	} {
		got, err := DecodeSyncRequest(AppendSyncRequest(nil, r))
		if err != nil || got.Mode != r.Mode || !bytes.Equal(got.Cookie, r.Cookie) || (got.Cookie == nil) != (r.Cookie == nil) || got.ReloadHint != r.ReloadHint {
			t.Errorf("%+v: got %+v, %v", r, got, err)
		}
	}
	// go-ldap's encoding decodes too.
	c := goldap.NewControlSyncRequest(goldap.SyncRequestModeRefreshAndPersist, []byte("rid=7"), true)
	got, err := DecodeSyncRequest(c.Encode().Children[2].Children[0].Bytes())
	if err != nil || got.Mode != 3 || string(got.Cookie) != "rid=7" || !got.ReloadHint {
		t.Errorf("go-ldap request: %+v %v", got, err)
	}
	for _, bad := range [][]byte{
		{0x30, 0x03, 0x0a, 0x01, 0x02},             // mode 2
		{0x30, 0x03, 0x02, 0x01, 0x01},             // INTEGER, not ENUMERATED
		{0x30, 0x05, 0x0a, 0x01, 0x01, 0x05, 0x00}, // stray NULL
		{0x30, 0x06, 0x0a, 0x01, 0x01, 0x01, 0x01}, // truncated
		nil,
	} {
		if _, err := DecodeSyncRequest(bad); err == nil {
			t.Errorf("% x decoded", bad)
		}
	}
}

func TestSyncResponsesDecodeInGoLDAP(t *testing.T) {
	uuid := [16]byte{0x59, 0x7a, 0xe2, 0xf6, 0x16, 0xa6, 0x10, 0x27, 0x98, 0xf4, 0xd2, 0x8b, 0x53, 0x65, 0xdc, 0x14}
	st := AppendSyncState(nil, SyncState{State: SyncModify, UUID: uuid, Cookie: []byte("csn=x")})
	gs, err := goldap.NewControlSyncState(ber.DecodePacket(st))
	if err != nil || gs.State != goldap.SyncStateModify || gs.EntryUUID != uuid || string(gs.Cookie) != "csn=x" {
		t.Errorf("sync state in go-ldap: %+v %v", gs, err)
	}
	if d, err := DecodeSyncState(st); err != nil || d.UUID != uuid || d.State != SyncModify || string(d.Cookie) != "csn=x" {
		t.Errorf("sync state: %+v %v", d, err)
	}
	done := AppendSyncDone(nil, SyncDone{Cookie: []byte("c"), RefreshDeletes: true})
	gd, err := goldap.NewControlSyncDone(ber.DecodePacket(done))
	if err != nil || string(gd.Cookie) != "c" || !gd.RefreshDeletes {
		t.Errorf("sync done in go-ldap: %+v %v", gd, err)
	}
	for _, si := range []SyncInfo{
		{Kind: SyncInfoNewCookie, Cookie: []byte("new")},
		{Kind: SyncInfoRefreshDelete, Cookie: []byte("d"), Done: true},
		{Kind: SyncInfoRefreshPresent, Done: false},
		{Kind: SyncInfoIDSet, Cookie: []byte("s"), Done: true, UUIDs: [][16]byte{uuid, {1}}},
	} {
		v := AppendSyncInfo(nil, si)
		got, err := DecodeSyncInfo(v)
		if err != nil || got.Kind != si.Kind || !bytes.Equal(got.Cookie, si.Cookie) || got.Done != si.Done || len(got.UUIDs) != len(si.UUIDs) {
			t.Errorf("%+v: got %+v, %v", si, got, err)
		}
		gi, err := goldap.NewControlSyncInfo(ber.DecodePacket(v))
		if err != nil || int(gi.Value) != si.Kind {
			t.Errorf("%+v in go-ldap: %+v %v", si, gi, err)
			continue
		}
		switch si.Kind {
		case SyncInfoRefreshDelete:
			if !gi.RefreshDelete.RefreshDone || string(gi.RefreshDelete.Cookie) != "d" {
				t.Errorf("refreshDelete in go-ldap: %+v", gi.RefreshDelete)
			}
		case SyncInfoRefreshPresent:
			if gi.RefreshPresent.RefreshDone {
				t.Errorf("refreshPresent in go-ldap: %+v", gi.RefreshPresent)
			}
		case SyncInfoIDSet:
			if !gi.SyncIdSet.RefreshDeletes || len(gi.SyncIdSet.SyncUUIDs) != 2 || gi.SyncIdSet.SyncUUIDs[0] != uuid {
				t.Errorf("syncIdSet in go-ldap: %+v", gi.SyncIdSet)
			}
		}
	}
}

func TestPersistentSearchValue(t *testing.T) {
	v := []byte{0x30, 0x09, 0x02, 0x01, 0x0f, 0x01, 0x01, 0xff, 0x01, 0x01, 0x00}
	p, err := DecodePersistentSearch(v)
	if err != nil || p.ChangeTypes != 15 || !p.ChangesOnly || p.ReturnECs {
		t.Errorf("got %+v %v", p, err)
	}
	if _, err := DecodePersistentSearch([]byte{0x30, 0x03, 0x02, 0x01, 0x10}); err == nil {
		t.Error("changeTypes 16 and no flags decoded")
	}
	ec := AppendEntryChangeNotification(nil, PSearchModDN, "cn=old,dc=x")
	if p := ber.DecodePacket(ec); len(p.Children) != 2 || p.Children[1].Value != "cn=old,dc=x" {
		t.Errorf("entry change notification: % x", ec)
	}
}

func FuzzDecodeSyncValues(f *testing.F) {
	f.Add(AppendSyncRequest(nil, SyncRequest{Mode: 3, Cookie: []byte("rid=001,csn=1"), ReloadHint: true}))
	f.Add(AppendSyncState(nil, SyncState{State: 1, Cookie: []byte("c")}))
	f.Add(AppendSyncDone(nil, SyncDone{Cookie: []byte("c"), RefreshDeletes: true}))
	f.Add(AppendSyncInfo(nil, SyncInfo{Kind: SyncInfoIDSet, UUIDs: [][16]byte{{1}}}))
	f.Add(AppendSyncInfo(nil, SyncInfo{Kind: SyncInfoRefreshPresent, Cookie: []byte("x")}))
	f.Add([]byte{0x30, 0x09, 0x02, 0x01, 0x0f, 0x01, 0x01, 0xff, 0x01, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := DecodeSyncRequest(b); err == nil {
			if r2, err := DecodeSyncRequest(AppendSyncRequest(nil, r)); err != nil || r2.Mode != r.Mode || !bytes.Equal(r2.Cookie, r.Cookie) {
				t.Fatalf("sync request does not round-trip: %+v %+v %v", r, r2, err)
			}
		}
		if s, err := DecodeSyncState(b); err == nil {
			if s2, err := DecodeSyncState(AppendSyncState(nil, s)); err != nil || s2.UUID != s.UUID {
				t.Fatalf("sync state does not round-trip: %v", err)
			}
		}
		if d, err := DecodeSyncDone(b); err == nil {
			if _, err := DecodeSyncDone(AppendSyncDone(nil, d)); err != nil {
				t.Fatalf("sync done does not round-trip: %v", err)
			}
		}
		if i, err := DecodeSyncInfo(b); err == nil {
			if i2, err := DecodeSyncInfo(AppendSyncInfo(nil, i)); err != nil || len(i2.UUIDs) != len(i.UUIDs) || i2.Done != i.Done {
				t.Fatalf("sync info does not round-trip: %+v %+v %v", i, i2, err)
			}
		}
		DecodePersistentSearch(b)
	})
}
