package carddav

import (
	"strings"
	"testing"
)

func TestCheckXML(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"ok", `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>`, ""},
		{"dtd", `<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`, "DTD"},
		{"pi", `<?php evil ?><x/>`, "processing instructions"},
		{"deep", strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40), "nested deeper"},
		{"many", "<a>" + strings.Repeat("<b/>", 101) + "</a>", "more than 100 elements"},
		{"unknown entity", `<x>&e;</x>`, "malformed XML"},
		{"unclosed", `<x><y></x>`, "malformed XML"},
	} {
		err := checkXML([]byte(tc.body), 100)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestQueryFilter(t *testing.T) {
	c, err := Parse([]byte("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Zoë Ångström\r\nEMAIL:zoe@Example.com\r\nTEL:+1 555\r\nORG:Acme\\, Inc.;R&D\r\nEND:VCARD\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		filter string
		want   bool
	}{
		{`<prop-filter name="FN"><text-match>ÅNGSTRÖM</text-match></prop-filter>`, true},
		{`<prop-filter name="FN"><text-match collation="i;octet">ÅNGSTRÖM</text-match></prop-filter>`, false},
		{`<prop-filter name="EMAIL"><text-match match-type="equals">ZOE@example.COM</text-match></prop-filter>`, true},
		{`<prop-filter name="TEL"><text-match match-type="starts-with">+1</text-match></prop-filter>`, true},
		{`<prop-filter name="ORG"><text-match match-type="starts-with">Acme, Inc.</text-match></prop-filter>`, true},
		{`<prop-filter name="ORG"><text-match negate-condition="yes">Acme</text-match></prop-filter>`, false},
		{`<prop-filter name="NICKNAME"><is-not-defined/></prop-filter>`, true},
		{`<prop-filter name="NICKNAME"/>`, false},
		{`<prop-filter name="FN"><text-match>x</text-match></prop-filter><prop-filter name="TEL"/>`, true},
		{`<prop-filter name="FN"><text-match>x</text-match></prop-filter><prop-filter name="TEL"/>`, false},
	} {
		test := "anyof"
		if tc.filter == `<prop-filter name="FN"><text-match>x</text-match></prop-filter><prop-filter name="TEL"/>` && !tc.want {
			test = "allof"
		}
		body := `<addressbook-query xmlns="urn:ietf:params:xml:ns:carddav"><filter test="` + test + `">` + tc.filter + `</filter></addressbook-query>`
		var q queryReq
		if err := decodeXML([]byte(body), &q); err != nil {
			t.Fatal(err)
		}
		match, err := compileFilter(&q.Filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := match(c); got != tc.want {
			t.Errorf("%s (%s): %v, want %v", tc.filter, test, got, tc.want)
		}
	}
	var q queryReq
	decodeXML([]byte(`<addressbook-query xmlns="urn:ietf:params:xml:ns:carddav"><filter><prop-filter name="FN"><text-match collation="i;klingon">x</text-match></prop-filter></filter></addressbook-query>`), &q)
	if _, err := compileFilter(&q.Filter); err == nil || !strings.Contains(err.Error(), "collation") {
		t.Errorf("unknown collation: %v", err)
	}
}

// FuzzRequestXML feeds request bodies through every step a PROPFIND or
// REPORT body takes.
func FuzzRequestXML(f *testing.F) {
	f.Add([]byte(`<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><C:address-data xmlns:C="urn:ietf:params:xml:ns:carddav" version="4.0"/></D:prop></D:propfind>`))
	f.Add([]byte(`<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop><C:filter test="allof"><C:prop-filter name="FN"><C:text-match match-type="ends-with" negate-condition="yes">x</C:text-match></C:prop-filter></C:filter><C:limit><C:nresults>5</C:nresults></C:limit></C:addressbook-query>`))
	f.Add([]byte(`<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop/><D:href>/dav/u/x/contacts/a.vcf</D:href></C:addressbook-multiget>`))
	f.Add([]byte(`<D:sync-collection xmlns:D="DAV:"><D:sync-token>urn:x-switchboard:sync:a:b</D:sync-token><D:sync-level>1</D:sync-level><D:prop/></D:sync-collection>`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a SYSTEM "file:///etc/passwd">]><x>&a;</x>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if checkXML(body, 10000) != nil {
			return
		}
		reportKind(body)
		var pf propfindReq
		decodeXML(body, &pf)
		var mg multigetReq
		decodeXML(body, &mg)
		var sr syncReq
		decodeXML(body, &sr)
		var q queryReq
		if decodeXML(body, &q) == nil {
			if m, err := compileFilter(&q.Filter); err == nil {
				c, _ := Parse([]byte("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nEND:VCARD\r\n"))
				m(c)
			}
		}
	})
}
