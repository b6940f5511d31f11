package frontend

import (
	"context"
	"slices"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/ldap/ldaptest"
)

const staff = "ou=staff,dc=example,dc=com"

// staffFrontend adds four people under ou=staff (in this ID order):
//
//	s1 sn=Brown           givenName=Zed  uidNumber=30
//	s2 sn=adams           (no givenName) uidNumber=4
//	s3 sn=Clark, sn=Aaron givenName=Amy  uidNumber=100
//	s4 sn=brown           givenName=Bob  uidNumber=7
func staffFrontend(t *testing.T) *Frontend {
	t.Helper()
	f := newFrontend(t)
	ctx := context.Background()
	add := func(dn string, attrs ...directory.Attr) {
		if err := errOf(f.engine.Add(ctx, dn, attrs, directory.WriteOptions{})); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
	}
	a := func(name string, vals ...string) directory.Attr {
		out := directory.Attr{Name: name}
		for _, v := range vals {
			out.Values = append(out.Values, []byte(v))
		}
		return out
	}
	add(staff, a("objectClass", "organizationalUnit"), a("ou", "staff"))
	person := func(uid, uidNumber string, sn []string, given ...string) {
		attrs := []directory.Attr{a("objectClass", "inetOrgPerson", "posixAccount"), a("uid", uid), a("cn", uid),
			a("sn", sn...), a("uidNumber", uidNumber), a("gidNumber", "1"), a("homeDirectory", "/home/"+uid),
			a("userPassword", "pw-"+uid)}
		if len(given) > 0 {
			attrs = append(attrs, a("givenName", given...))
		}
		add("uid="+uid+","+staff, attrs...)
	}
	person("s1", "30", []string{"Brown"}, "Zed")
	person("s2", "4", []string{"adams"})
	person("s3", "100", []string{"Clark", "Aaron"}, "Amy")
	person("s4", "7", []string{"brown"}, "Bob")
	return f
}

type key struct {
	attr, rule string
	reverse    bool
}

func sortControl(critical bool, keys ...key) ldap.Control {
	seq := ber.NewSequence("SortKeyList")
	for _, k := range keys {
		s := ber.NewSequence("SortKey")
		s.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, k.attr, "type"))
		if k.rule != "" {
			s.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, k.rule, "rule"))
		}
		if k.reverse {
			s.AppendChild(ber.NewBoolean(ber.ClassContext, ber.TypePrimitive, 1, true, "reverse"))
		}
		seq.AppendChild(s)
	}
	return ldap.Control{OID: []byte(ldap.OIDSortRequest), Critical: critical, HasValue: true, Value: seq.Bytes()}
}

func vlvOffset(before, after, offset, count int) ldap.Control {
	seq := ber.NewSequence("VLV")
	seq.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, before, ""))
	seq.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, after, ""))
	t := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "byOffset")
	t.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, offset, ""))
	t.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, count, ""))
	seq.AppendChild(t)
	return ldap.Control{OID: []byte(ldap.OIDVLVRequest), Critical: true, HasValue: true, Value: seq.Bytes()}
}

func vlvGE(before, after int, value string) ldap.Control {
	seq := ber.NewSequence("VLV")
	seq.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, before, ""))
	seq.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, after, ""))
	seq.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 1, value, "ge"))
	return ldap.Control{OID: []byte(ldap.OIDVLVRequest), Critical: true, HasValue: true, Value: seq.Bytes()}
}

func filterControl(oid, filter string, critical bool) ldap.Control {
	flt, err := ldap.ParseFilter(filter)
	if err != nil {
		panic(err)
	}
	return ldap.Control{OID: []byte(oid), Critical: critical, HasValue: true, Value: ldap.AppendFilter(nil, flt)}
}

func selectionControl(oid string, attrs ...string) ldap.Control {
	seq := ber.NewSequence("AttributeSelection")
	for _, a := range attrs {
		seq.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a, ""))
	}
	return ldap.Control{OID: []byte(oid), Critical: true, HasValue: true, Value: seq.Bytes()}
}

func uids(rec *ldaptest.Recorder) []string {
	var out []string
	for _, e := range rec.Entries {
		dn, _ := ldap.ParseDN(e.Entry.DN)
		out = append(out, dn[0][0].Value)
	}
	return out
}

func respControl(t *testing.T, res *ldap.Result, oid string) *ber.Packet {
	t.Helper()
	for _, c := range res.Controls {
		if c.OID == oid {
			p, err := ber.DecodePacketErr(c.Value)
			if err != nil {
				t.Fatalf("control %s: %v", oid, err)
			}
			return p
		}
	}
	return nil
}

func intAt(p *ber.Packet, i int) int64 {
	switch v := p.Children[i].Value.(type) {
	case int64:
		return v
	}
	n, _ := ber.ParseInt64(p.Children[i].Data.Bytes())
	return n
}

func runAs(f *Frontend, dn string, r *ldap.Request) *ldaptest.Recorder {
	ctx, _ := session(dn)
	rec := ldaptest.NewRecorder()
	f.ServeLDAP(ctx, rec, r)
	return rec
}

func TestServerSideSort(t *testing.T) {
	f := staffFrontend(t)
	for _, tc := range []struct {
		name string
		keys []key
		want []string
	}{
		{"sn ascending", []key{{"sn", "caseIgnoreOrderingMatch", false}}, []string{"s3", "s2", "s1", "s4"}},
		{"sn reverse, ties keep ID order", []key{{"sn", "caseIgnoreOrderingMatch", true}}, []string{"s1", "s4", "s2", "s3"}},
		{"uidNumber numeric", []key{{"uidNumber", "", false}}, []string{"s2", "s4", "s1", "s3"}},
		{"uidNumber reverse", []key{{"uidNumber", "", true}}, []string{"s3", "s1", "s4", "s2"}},
		{"missing last", []key{{"givenName", "caseIgnoreOrderingMatch", false}}, []string{"s3", "s4", "s1", "s2"}},
		{"missing first in reverse", []key{{"givenName", "caseIgnoreOrderingMatch", true}}, []string{"s2", "s1", "s4", "s3"}},
		{"multi-key", []key{{"sn", "caseIgnoreOrderingMatch", false}, {"uidNumber", "", false}}, []string{"s3", "s2", "s4", "s1"}},
		{"multi-key reverse second", []key{{"sn", "caseIgnoreOrderingMatch", false}, {"uidNumber", "", true}}, []string{"s3", "s2", "s1", "s4"}},
		// No ordering rule: the equality rule's normal form, bytewise
		// (caseIgnoreMatch gives caseIgnoreOrderingMatch's order).
		{"sn by equality", []key{{"sn", "", false}}, []string{"s3", "s2", "s1", "s4"}},
		{"sn by equality reverse", []key{{"sn", "", true}}, []string{"s1", "s4", "s2", "s3"}},
		{"cn by equality", []key{{"cn", "", true}}, []string{"s4", "s3", "s2", "s1"}},
	} {
		r := searchReq(staff, ldap.ScopeSingleLevel, "(objectClass=person)", "sn")
		r.Controls = []ldap.Control{sortControl(true, tc.keys...)}
		rec := runAs(f, "", r)
		if rec.Code() != ldap.Success || !slices.Equal(uids(rec), tc.want) {
			t.Errorf("%s: code %d, order %v, want %v", tc.name, rec.Code(), uids(rec), tc.want)
			continue
		}
		p := respControl(t, rec.Result, ldap.OIDSortResponse)
		if p == nil || intAt(p, 0) != 0 {
			t.Errorf("%s: sort response %v", tc.name, p)
		}
	}

	// No ordering rule (sn has none), unknown rule, unknown attribute,
	// repeated key, hidden attribute: critical fails with 12 and the
	// reason in sortResult, non-critical returns the entries unsorted.
	for _, tc := range []struct {
		keys []key
		code int64
	}{
		{[]key{{"sn", "caseExactMatch", false}}, 18},
		{[]key{{"uidNumber", "caseIgnoreOrderingMatch", false}}, 18},
		{[]key{{"noSuchType", "", false}}, 16},
		{[]key{{"uidNumber", "", false}, {"uidNumber", "", true}}, 53},
		{[]key{{"userPassword", "", false}}, 50},
	} {
		r := searchReq(staff, ldap.ScopeSingleLevel, "(objectClass=person)", "1.1")
		r.Controls = []ldap.Control{sortControl(true, tc.keys...)}
		rec := runAs(f, "", r)
		p := respControl(t, rec.Result, ldap.OIDSortResponse)
		if rec.Code() != ldap.UnavailableCriticalExtension || len(rec.Entries) != 0 || p == nil || intAt(p, 0) != tc.code {
			t.Errorf("critical %v: code %d, %d entries, sortResult %v; want 12, 0, %d", tc.keys, rec.Code(), len(rec.Entries), p, tc.code)
		}
		r.Controls = []ldap.Control{sortControl(false, tc.keys...)}
		rec = runAs(f, "", r)
		p = respControl(t, rec.Result, ldap.OIDSortResponse)
		if rec.Code() != ldap.Success || !slices.Equal(uids(rec), []string{"s1", "s2", "s3", "s4"}) || p == nil || intAt(p, 0) != tc.code {
			t.Errorf("non-critical %v: code %d, %v, sortResult %v", tc.keys, rec.Code(), uids(rec), p)
		}
	}

	// Malformed values are protocolError.
	for _, v := range [][]byte{nil, {0x30, 0x00}, {0x30, 0x03, 0x04, 0x01}, {0x04, 0x00}} {
		r := searchReq(staff, ldap.ScopeSingleLevel, "(objectClass=person)")
		r.Controls = []ldap.Control{{OID: []byte(ldap.OIDSortRequest), HasValue: v != nil, Value: v}}
		if rec := runAs(f, "", r); rec.Code() != ldap.ProtocolError {
			t.Errorf("sort value %x: code %d, want 2", v, rec.Code())
		}
	}

	// Strict mode refuses a type without an ordering rule, as slapd does.
	f.cfg.StrictSort = true
	r := searchReq(staff, ldap.ScopeSingleLevel, "(objectClass=person)", "1.1")
	r.Controls = []ldap.Control{sortControl(true, key{"sn", "", false})}
	rec := runAs(f, "", r)
	if p := respControl(t, rec.Result, ldap.OIDSortResponse); rec.Code() != ldap.UnavailableCriticalExtension || p == nil || intAt(p, 0) != 18 {
		t.Errorf("strict, sn without a rule: code %d, %v", rec.Code(), p)
	}
	f.cfg.StrictSort = false

	// The sort limit: beyond it adminLimitExceeded, the result itself
	// when critical; the root DN has its own limit (none by default).
	f.cfg.SortLimit = 3
	r = searchReq(staff, ldap.ScopeSingleLevel, "(objectClass=person)")
	r.Controls = []ldap.Control{sortControl(true, key{"uidNumber", "", false})}
	rec = runAs(f, "", r)
	if p := respControl(t, rec.Result, ldap.OIDSortResponse); rec.Code() != ldap.AdminLimitExceeded || len(rec.Entries) != 0 || p == nil || intAt(p, 0) != 11 {
		t.Errorf("over the sort limit: code %d, %v", rec.Code(), p)
	}
	if rec := runAs(f, root, r); rec.Code() != ldap.Success || len(rec.Entries) != 4 {
		t.Errorf("root over the sort limit: code %d, %d entries", rec.Code(), len(rec.Entries))
	}
	f.cfg.SortRootLimit = 2
	if rec := runAs(f, root, r); rec.Code() != ldap.AdminLimitExceeded {
		t.Errorf("root over its own sort limit: code %d, %d entries", rec.Code(), len(rec.Entries))
	}
	f.cfg.SortLimit, f.cfg.SortRootLimit = 0, 0
}

// TestSortMemoryBudget: a sorted search takes its rows' memory from the
// server-wide budget and gives it back; with the budget spent by others
// it is refused with busy, and one that alone needs more than the budget
// with adminLimitExceeded. Non-critical, both return the entries unsorted.
func TestSortMemoryBudget(t *testing.T) {
	f := newFrontend(t)
	b := NewSortBudget(1<<20, 0)
	f.cfg.SortBudget = b
	r := searchReq("ou=people,dc=example,dc=com", ldap.ScopeSingleLevel, "(objectClass=person)", "uid")
	r.Controls = []ldap.Control{sortControl(true, key{"uid", "", true})}
	if rec := runAs(f, "", r); rec.Code() != ldap.SizeLimitExceeded || len(rec.Entries) != 20 || uids(rec)[0] != "p44" {
		t.Fatalf("within the budget: code %d, %v", rec.Code(), uids(rec))
	}
	if b.InUse() != 0 {
		t.Fatalf("%d bytes still held after the search", b.InUse())
	}

	// Another search holds all but a few bytes.
	ctx := context.Background()
	if err := b.acquire(ctx, b.Size()-100, 0); err != nil {
		t.Fatal(err)
	}
	rec := runAs(f, "", r)
	if p := respControl(t, rec.Result, ldap.OIDSortResponse); rec.Code() != ldap.Busy || len(rec.Entries) != 0 || p == nil || intAt(p, 0) != 51 {
		t.Errorf("budget spent: code %d, %d entries, %v", rec.Code(), len(rec.Entries), p)
	}
	r.Controls = []ldap.Control{sortControl(false, key{"uid", "", true})}
	rec = runAs(f, "", r)
	if p := respControl(t, rec.Result, ldap.OIDSortResponse); rec.Code() != ldap.SizeLimitExceeded || len(rec.Entries) != 20 || uids(rec)[0] != "p00" || p == nil || intAt(p, 0) != 51 {
		t.Errorf("budget spent, non-critical: code %d, %v, %v", rec.Code(), uids(rec), p)
	}
	b.release(b.Size() - 100)
	if b.InUse() != 0 || b.Refused() != 2 {
		t.Fatalf("in use %d, refused %d", b.InUse(), b.Refused())
	}

	// Waiting: the search gets the bytes once they are given back.
	b.wait = time.Minute
	if err := b.acquire(ctx, b.Size(), 0); err != nil {
		t.Fatal(err)
	}
	r.Controls = []ldap.Control{sortControl(true, key{"uid", "", true})}
	done := make(chan *ldaptest.Recorder)
	go func() { done <- runAs(f, "", r) }()
	waitFor(t, b, 1)
	b.release(b.Size())
	if rec := <-done; rec.Code() != ldap.SizeLimitExceeded || len(rec.Entries) != 20 {
		t.Errorf("after waiting: code %d, %d entries", rec.Code(), len(rec.Entries))
	}

	// More than the whole budget (an index-ordered sort of the 45
	// people needs 8 bytes each, a gather a 64 KiB block).
	f.cfg.SortBudget = NewSortBudget(100, time.Minute)
	rec = runAs(f, "", r)
	if p := respControl(t, rec.Result, ldap.OIDSortResponse); rec.Code() != ldap.AdminLimitExceeded || p == nil || intAt(p, 0) != 11 {
		t.Errorf("over the whole budget: code %d, %v", rec.Code(), p)
	}
}

func TestSortedPaging(t *testing.T) {
	f := newFrontend(t)
	var got []string
	var cookie []byte
	for pages := 0; ; pages++ {
		r := searchReq("ou=people,dc=example,dc=com", ldap.ScopeSingleLevel, "(objectClass=person)", "uid")
		r.Controls = []ldap.Control{sortControl(true, key{"uid", "caseIgnoreOrderingMatch", true}), pagedControl(7, cookie)}
		rec := runAs(f, "", r)
		if rec.Code() != ldap.Success || len(rec.Entries) > 7 {
			t.Fatalf("page %d: code %d, %d entries", pages, rec.Code(), len(rec.Entries))
		}
		got = append(got, uids(rec)...)
		if cookie = cookieOf(t, rec.Result); len(cookie) == 0 {
			break
		}
		// The cookie is bound to the sort keys.
		other := searchReq("ou=people,dc=example,dc=com", ldap.ScopeSingleLevel, "(objectClass=person)", "uid")
		other.Controls = []ldap.Control{sortControl(true, key{"uid", "caseIgnoreOrderingMatch", false}), pagedControl(7, cookie)}
		if rec := runAs(f, "", other); rec.Code() != ldap.UnwillingToPerform {
			t.Fatalf("cookie with other keys: code %d", rec.Code())
		}
	}
	if len(got) != 45 || got[0] != "p44" || got[44] != "p00" || !slices.IsSortedFunc(got, func(a, b string) int { return -cmpStr(a, b) }) {
		t.Fatalf("sorted paging: %v", got)
	}
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestVirtualListView(t *testing.T) {
	f := newFrontend(t)
	run := func(vlv ldap.Control, reverse bool) (*ldaptest.Recorder, []string, int64, int64, int64) {
		r := searchReq("ou=people,dc=example,dc=com", ldap.ScopeSingleLevel, "(objectClass=person)", "uid")
		r.Controls = []ldap.Control{sortControl(true, key{"uid", "caseIgnoreOrderingMatch", reverse}), vlv}
		rec := runAs(f, "", r)
		p := respControl(t, rec.Result, ldap.OIDVLVResponse)
		if p == nil {
			return rec, uids(rec), -1, -1, -1
		}
		return rec, uids(rec), intAt(p, 0), intAt(p, 1), intAt(p, 2)
	}
	for _, tc := range []struct {
		name         string
		ctl          ldap.Control
		reverse      bool
		want         []string
		target, code int64
	}{
		{"start", vlvOffset(2, 2, 1, 0), false, []string{"p00", "p01", "p02"}, 1, 0},
		{"middle", vlvOffset(1, 2, 10, 0), false, []string{"p08", "p09", "p10", "p11"}, 10, 0},
		{"end", vlvOffset(2, 2, 45, 45), false, []string{"p42", "p43", "p44"}, 45, 0},
		{"beyond", vlvOffset(1, 1, 500, 0), false, []string{"p43", "p44"}, 45, 0},
		{"scaled", vlvOffset(0, 0, 50, 100), false, []string{"p21"}, 22, 0},
		{"offset at the client's count", vlvOffset(0, 0, 9, 9), false, []string{"p44"}, 45, 0},
		{"reverse", vlvOffset(0, 1, 1, 0), true, []string{"p44", "p43"}, 1, 0},
		{"greaterThanOrEqual", vlvGE(1, 1, "P2"), false, []string{"p19", "p20", "p21"}, 21, 0},
		{"greaterThanOrEqual exact", vlvGE(0, 0, "p33"), false, []string{"p33"}, 34, 0},
		{"greaterThanOrEqual reverse", vlvGE(0, 1, "p105"), true, []string{"p10", "p09"}, 35, 0},
		{"greaterThanOrEqual past the end", vlvGE(2, 2, "q"), false, []string{"p43", "p44"}, 46, 0},
	} {
		rec, got, target, count, code := run(tc.ctl, tc.reverse)
		if rec.Code() != ldap.Success || !slices.Equal(got, tc.want) || target != tc.target || count != 45 || code != tc.code {
			t.Errorf("%s: code %d, %v target %d count %d vlvResult %d; want %v target %d", tc.name, rec.Code(), got, target, count, code, tc.want, tc.target)
		}
	}
	rec, _, _, _, code := run(vlvOffset(0, 0, 0, 0), false)
	if rec.Code() != offsetRangeError || code != 61 {
		t.Errorf("offset 0: code %d, vlvResult %d", rec.Code(), code)
	}
	// Without a sort control: sortControlMissing.
	r := searchReq("ou=people,dc=example,dc=com", ldap.ScopeSingleLevel, "(objectClass=person)")
	r.Controls = []ldap.Control{vlvOffset(0, 0, 1, 0)}
	rec = runAs(f, "", r)
	if p := respControl(t, rec.Result, ldap.OIDVLVResponse); rec.Code() != 60 || p == nil || intAt(p, 2) != 60 {
		t.Errorf("VLV without sort: code %d, %v", rec.Code(), p)
	}
	// Malformed.
	r.Controls = []ldap.Control{sortControl(true, key{"uid", "caseIgnoreOrderingMatch", false}), {OID: []byte(ldap.OIDVLVRequest), HasValue: true, Value: []byte{0x30, 0x03, 0x02, 0x01, 0x00}}}
	if rec := runAs(f, "", r); rec.Code() != ldap.ProtocolError {
		t.Errorf("malformed VLV: code %d", rec.Code())
	}
	// The VLV control applies to searches only.
	cmp := &ldap.Request{MessageID: 3, Op: ldap.OpCompareRequest, Compare: ldap.CompareRequest{Entry: []byte("uid=p01,ou=people,dc=example,dc=com"), Attr: []byte("uid"), Value: []byte("p01")}}
	cmp.Controls = []ldap.Control{vlvOffset(0, 0, 1, 0)}
	if rec := runAs(f, "", cmp); rec.Code() != ldap.UnavailableCriticalExtension {
		t.Errorf("critical VLV on compare: code %d", rec.Code())
	}
}

func TestAssertionOnEveryOperation(t *testing.T) {
	f := staffFrontend(t)
	s1 := "uid=s1," + staff
	pass, fail := "(sn=brown)", "(sn=adams)"
	mod := func(assert string) *ldap.Request {
		r := &ldap.Request{MessageID: 5, Op: ldap.OpModifyRequest, Modify: ldap.ModifyRequest{Object: []byte(s1),
			Changes: []ldap.Change{{Operation: change.ModReplace, Attribute: ldap.Attribute{Name: "description", Values: [][]byte{[]byte("x")}}}}}}
		r.Controls = []ldap.Control{filterControl(ldap.OIDAssertion, assert, true)}
		return r
	}
	for _, tc := range []struct {
		name string
		req  func(assert string) *ldap.Request
		ok   ldap.ResultCode
	}{
		{"search", func(a string) *ldap.Request {
			r := searchReq(s1, ldap.ScopeBaseObject, "(objectClass=*)")
			r.Controls = []ldap.Control{filterControl(ldap.OIDAssertion, a, true)}
			return r
		}, ldap.Success},
		{"compare", func(a string) *ldap.Request {
			r := &ldap.Request{MessageID: 4, Op: ldap.OpCompareRequest, Compare: ldap.CompareRequest{Entry: []byte(s1), Attr: []byte("uid"), Value: []byte("s1")}}
			r.Controls = []ldap.Control{filterControl(ldap.OIDAssertion, a, true)}
			return r
		}, ldap.CompareTrue},
		{"modify", mod, ldap.Success},
		{"modifyDN", func(a string) *ldap.Request {
			r := &ldap.Request{MessageID: 6, Op: ldap.OpModifyDNRequest, ModifyDN: ldap.ModifyDNRequest{Entry: []byte(s1), NewRDN: []byte("uid=s1b")}}
			r.Controls = []ldap.Control{filterControl(ldap.OIDAssertion, a, true)}
			return r
		}, ldap.Success},
		{"delete", func(a string) *ldap.Request {
			r := &ldap.Request{MessageID: 7, Op: ldap.OpDelRequest, Delete: []byte("uid=s2," + staff)}
			r.Controls = []ldap.Control{filterControl(ldap.OIDAssertion, map[string]string{pass: "(sn=adams)", fail: "(sn=brown)"}[a], true)}
			return r
		}, ldap.Success},
		{"add", func(a string) *ldap.Request {
			r := &ldap.Request{MessageID: 8, Op: ldap.OpAddRequest, Add: ldap.AddRequest{Entry: []byte("uid=s9," + staff), Attributes: []ldap.Attribute{
				{Name: "objectClass", Values: [][]byte{[]byte("inetOrgPerson")}}, {Name: "uid", Values: [][]byte{[]byte("s9")}},
				{Name: "cn", Values: [][]byte{[]byte("s9")}}, {Name: "sn", Values: [][]byte{[]byte("Brown")}}}}}
			r.Controls = []ldap.Control{filterControl(ldap.OIDAssertion, a, true)}
			return r
		}, ldap.Success},
	} {
		if rec := runAs(f, root, tc.req(fail)); rec.Code() != ldap.AssertionFailed {
			t.Errorf("%s with a failing assertion: code %d, want 122", tc.name, rec.Code())
		}
		if rec := runAs(f, root, tc.req(pass)); rec.Code() != tc.ok {
			t.Errorf("%s with a passing assertion: code %d (%s), want %d", tc.name, rec.Code(), rec.Result.Diagnostic, tc.ok)
		}
	}
	// The Root DSE takes the assertion too.
	r := searchReq("", ldap.ScopeBaseObject, "(objectClass=*)")
	r.Controls = []ldap.Control{filterControl(ldap.OIDAssertion, "(vendorName=nobody)", true)}
	if rec := runAs(f, "", r); rec.Code() != ldap.AssertionFailed {
		t.Errorf("Root DSE assertion: code %d", rec.Code())
	}
	// An assertion cannot probe a hidden attribute: it is Undefined.
	r = searchReq("uid=s3,"+staff, ldap.ScopeBaseObject, "(objectClass=*)")
	r.Controls = []ldap.Control{filterControl(ldap.OIDAssertion, "(!(userPassword=wrong))", true)}
	if rec := runAs(f, "", r); rec.Code() != ldap.AssertionFailed {
		t.Errorf("assertion on a hidden attribute: code %d, want 122", rec.Code())
	}
	// Malformed and missing values.
	for _, c := range []ldap.Control{{OID: []byte(ldap.OIDAssertion), Critical: true}, {OID: []byte(ldap.OIDAssertion), HasValue: true, Value: []byte{0xa3, 0x02, 0x04, 0x00}},
		{OID: []byte(ldap.OIDAssertion), HasValue: true, Value: append(ldap.AppendFilter(nil, &ldap.Filter{Kind: ldap.FilterPresent, Attr: []byte("cn")}), 0)}} {
		r := searchReq("uid=s3,"+staff, ldap.ScopeBaseObject, "(objectClass=*)")
		r.Controls = []ldap.Control{c}
		if rec := runAs(f, "", r); rec.Code() != ldap.ProtocolError {
			t.Errorf("assertion value %x: code %d, want 2", c.Value, rec.Code())
		}
	}
}

func TestPreAndPostRead(t *testing.T) {
	f := staffFrontend(t)
	decode := func(res *ldap.Result, oid string) map[string][]string {
		p := respControl(t, res, oid)
		if p == nil {
			t.Fatalf("no %s response control in %+v", oid, res)
		}
		if p.ClassType != ber.ClassApplication || p.Tag != 4 {
			t.Fatalf("%s: not a SearchResultEntry: %v/%v", oid, p.ClassType, p.Tag)
		}
		out := map[string][]string{"dn": {p.Children[0].Value.(string)}}
		for _, a := range p.Children[1].Children {
			for _, v := range a.Children[1].Children {
				out[a.Children[0].Value.(string)] = append(out[a.Children[0].Value.(string)], v.Value.(string))
			}
		}
		return out
	}
	r := &ldap.Request{MessageID: 5, Op: ldap.OpModifyRequest, Modify: ldap.ModifyRequest{Object: []byte("uid=s1," + staff),
		Changes: []ldap.Change{{Operation: change.ModReplace, Attribute: ldap.Attribute{Name: "sn", Values: [][]byte{[]byte("Green")}}}}}}
	r.Controls = []ldap.Control{selectionControl(ldap.OIDPreRead, "sn", "userPassword"), selectionControl(ldap.OIDPostRead, "sn", "uidNumber")}
	rec := runAs(f, root, r)
	if rec.Code() != ldap.Success {
		t.Fatalf("modify: %v", rec.Result)
	}
	pre, post := decode(rec.Result, ldap.OIDPreRead), decode(rec.Result, ldap.OIDPostRead)
	if !slices.Equal(pre["sn"], []string{"Brown"}) || len(pre["userPassword"]) != 1 || pre["dn"][0] != "uid=s1,"+staff {
		t.Errorf("pre-read as root: %v", pre)
	}
	if !slices.Equal(post["sn"], []string{"Green"}) || !slices.Equal(post["uidNumber"], []string{"30"}) || len(post) != 3 {
		t.Errorf("post-read: %v", post)
	}
	// modrdn: both; delete: pre-read; add: post-read.
	r = &ldap.Request{MessageID: 6, Op: ldap.OpModifyDNRequest, ModifyDN: ldap.ModifyDNRequest{Entry: []byte("uid=s4," + staff), NewRDN: []byte("uid=s44"), DeleteOldRDN: true}}
	r.Controls = []ldap.Control{selectionControl(ldap.OIDPreRead, "uid"), selectionControl(ldap.OIDPostRead, "uid")}
	rec = runAs(f, root, r)
	if pre, post := decode(rec.Result, ldap.OIDPreRead), decode(rec.Result, ldap.OIDPostRead); !slices.Equal(pre["uid"], []string{"s4"}) || !slices.Equal(post["uid"], []string{"s44"}) || post["dn"][0] != "uid=s44,"+staff {
		t.Errorf("modrdn read controls: %v %v", pre, post)
	}
	r = &ldap.Request{MessageID: 7, Op: ldap.OpDelRequest, Delete: []byte("uid=s2," + staff)}
	r.Controls = []ldap.Control{selectionControl(ldap.OIDPreRead)}
	rec = runAs(f, root, r)
	if pre := decode(rec.Result, ldap.OIDPreRead); !slices.Equal(pre["sn"], []string{"adams"}) || len(pre["userPassword"]) != 1 {
		t.Errorf("delete pre-read (all user attributes): %v", pre)
	}
	// A critical post-read on delete is refused: it does not apply.
	r = &ldap.Request{MessageID: 8, Op: ldap.OpDelRequest, Delete: []byte("uid=s3," + staff)}
	r.Controls = []ldap.Control{selectionControl(ldap.OIDPostRead, "cn")}
	if rec := runAs(f, root, r); rec.Code() != ldap.UnavailableCriticalExtension {
		t.Errorf("post-read on delete: code %d", rec.Code())
	}
	r.Controls = []ldap.Control{{OID: []byte(ldap.OIDPreRead), HasValue: true, Value: []byte{0x30, 0x02, 0x02, 0x00}}}
	if rec := runAs(f, root, r); rec.Code() != ldap.ProtocolError {
		t.Errorf("malformed pre-read: code %d", rec.Code())
	}
}

func TestMatchedValuesAndTreeDelete(t *testing.T) {
	f := staffFrontend(t)
	mv := func(items ...string) ldap.Control {
		var b []byte
		for _, it := range items {
			flt, _ := ldap.ParseFilter(it)
			b = ldap.AppendFilter(b, flt)
		}
		v := append([]byte{0x30, byte(len(b))}, b...)
		return ldap.Control{OID: []byte(ldap.OIDMatchedValues), Critical: true, HasValue: true, Value: v}
	}
	r := searchReq("uid=s3,"+staff, ldap.ScopeBaseObject, "(objectClass=*)", "sn", "cn", "uidNumber", "givenName")
	r.Controls = []ldap.Control{mv("(sn=aar*)", "(uidNumber>=50)", "(givenName=*)")}
	rec := runAs(f, "", r)
	got := map[string][]string{}
	for _, a := range rec.Entries[0].Entry.Attributes {
		for _, v := range a.Values {
			got[a.Name] = append(got[a.Name], string(v))
		}
	}
	if rec.Code() != ldap.Success || len(got) != 3 || !slices.Equal(got["sn"], []string{"Aaron"}) || !slices.Equal(got["uidNumber"], []string{"100"}) || !slices.Equal(got["givenName"], []string{"Amy"}) {
		t.Errorf("matched values: code %d, %v", rec.Code(), got)
	}
	// userPassword is not revealed to a non-root through matched values.
	r = searchReq("uid=s3,"+staff, ldap.ScopeBaseObject, "(objectClass=*)", "*")
	r.Controls = []ldap.Control{mv("(userPassword=*)")}
	if rec := runAs(f, "", r); len(rec.Entries) != 1 || len(rec.Entries[0].Entry.Attributes) != 0 {
		t.Errorf("matched values on a hidden attribute: %+v", rec.Entries)
	}
	// and/or/not are not simple filter items.
	r.Controls = []ldap.Control{mv("(|(sn=a)(sn=b))")}
	if rec := runAs(f, "", r); rec.Code() != ldap.ProtocolError {
		t.Errorf("matched values with or: code %d", rec.Code())
	}

	// Tree delete removes the subtree; without it, notAllowedOnNonLeaf.
	del := &ldap.Request{MessageID: 9, Op: ldap.OpDelRequest, Delete: []byte(staff)}
	if rec := runAs(f, root, del); rec.Code() != ldap.NotAllowedOnNonLeaf {
		t.Errorf("delete of a non-leaf: code %d", rec.Code())
	}
	del.Controls = []ldap.Control{{OID: []byte(ldap.OIDTreeDelete), Critical: true}}
	if rec := runAs(f, root, del); rec.Code() != ldap.Success {
		t.Fatalf("tree delete: code %d %s", rec.Code(), rec.Result.Diagnostic)
	}
	r = searchReq("dc=example,dc=com", ldap.ScopeWholeSubtree, "(uid=s*)")
	if rec := runAs(f, root, r); rec.Code() != ldap.Success || len(rec.Entries) != 0 {
		t.Errorf("after tree delete: code %d, %d entries", rec.Code(), len(rec.Entries))
	}
	// On a search it does not apply.
	r.Controls = []ldap.Control{{OID: []byte(ldap.OIDTreeDelete), Critical: true}}
	if rec := runAs(f, root, r); rec.Code() != ldap.UnavailableCriticalExtension {
		t.Errorf("tree delete on search: code %d", rec.Code())
	}
	// All are advertised.
	rec = runAs(f, "", searchReq("", ldap.ScopeBaseObject, "(objectClass=*)", "supportedControl"))
	var oids []string
	for _, v := range rec.Entries[0].Entry.Attributes[0].Values {
		oids = append(oids, string(v))
	}
	for _, oid := range []string{ldap.OIDSortRequest, ldap.OIDVLVRequest, ldap.OIDAssertion, ldap.OIDPreRead, ldap.OIDPostRead, ldap.OIDMatchedValues, ldap.OIDTreeDelete, ldap.OIDPagedResults, ldap.OIDManageDsaIT} {
		if !slices.Contains(oids, oid) {
			t.Errorf("supportedControl lacks %s: %v", oid, oids)
		}
	}
}
