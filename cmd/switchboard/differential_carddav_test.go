package main

import (
	"encoding/xml"
	"net"
	"os"
	"os/exec"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestCardDAVDifferentialXandikos stores the same cards in a personal
// book of switchboard and in Xandikos (Debian's reference CardDAV server)
// and sends both the same REPORT and PROPFIND requests: the hrefs, the
// properties found and the address data must agree.
func TestCardDAVDifferentialXandikos(t *testing.T) {
	if _, err := exec.LookPath("xandikos"); err != nil {
		t.Skip("xandikos not installed (apt-get install xandikos)")
	}
	addr := freePort(t)
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("xandikos", "-d", t.TempDir(), "--defaults", "-l", host, "-p", port)
	logf, err := os.CreateTemp(t.TempDir(), "xandikos-log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	s, _ := startCardDAV(t, 0, "")
	sb := newDAVClient(t, s, "alice", "alice-pw")
	sb.do("PROPFIND", sb.home, map[string]string{"Depth": "1"}, "", 207)
	sbBook := sb.home + "contacts/"
	xk := &davClient{t: t, base: "http://" + addr}
	xkBook := "/user/contacts/addressbook/"
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("xandikos did not start: %s", b)
		}
		time.Sleep(200 * time.Millisecond)
	}

	cards := map[string]string{
		"zoe.vcf":   "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:zoe\r\nFN:Zoë Ångström\r\nN:Ångström;Zoë;;;\r\nEMAIL;TYPE=work:zoe@example.com\r\nTEL;TYPE=cell:+1 555 0100\r\nORG:Acme\\, Inc.;R&D\r\nEND:VCARD\r\n",
		"bob.vcf":   "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:bob\r\nFN:Bob Builder\r\nN:Builder;Bob;;;\r\nEMAIL:bob@builders.example\r\nTEL:+44 20 7946 0000\r\nORG:Builders Ltd\r\nNICKNAME:Bobby\r\nEND:VCARD\r\n",
		"kai.vcf":   "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:kai\r\nFN:Kai Khard\r\nN:Khard;Kai;;;\r\nEMAIL;TYPE=home:kai@example.net\r\nEMAIL;TYPE=work:k.khard@acme.example\r\nTEL;VALUE=uri:tel:+49-30-1234567\r\nEND:VCARD\r\n",
		"anon.vcf":  "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:anon\r\nFN:Nobody\r\nN:;;;;\r\nEND:VCARD\r\n",
		"mixed.vcf": "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:mixed\r\nFN:MIXED case Person\r\nN:Person;Mixed;;;\r\nitem1.EMAIL:Mixed@Example.COM\r\nitem1.X-ABLabel:other\r\nORG:acme labs\r\nTEL;TYPE=work:555-0199\r\nEND:VCARD\r\n",
	}
	names := make([]string, 0, len(cards))
	for n := range cards {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sb.do("PUT", sbBook+n, map[string]string{"Content-Type": "text/vcard"}, cards[n], 201)
		xk.do("PUT", xkBook+n, map[string]string{"Content-Type": "text/vcard"}, cards[n], 201)
	}

	const open = `<?xml version="1.0" encoding="utf-8"?><C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop>`
	query := func(filter string) string { return open + filter + `</C:addressbook-query>` }
	tm := func(prop, match, text string) string {
		return `<C:filter><C:prop-filter name="` + prop + `"><C:text-match collation="i;unicode-casemap" match-type="` + match + `">` + text + `</C:text-match></C:prop-filter></C:filter>`
	}
	reports := map[string]string{
		"FN contains":        query(tm("FN", "contains", "builder")),
		"FN contains ümlaut": query(tm("FN", "contains", "ångström")),
		"EMAIL equals":       query(tm("EMAIL", "equals", "mixed@example.com")),
		"EMAIL ends-with":    query(tm("EMAIL", "ends-with", ".example")),
		"TEL starts-with":    query(tm("TEL", "starts-with", "+1")),
		"ORG contains":       query(tm("ORG", "contains", "acme")),
		"ORG starts-with":    query(tm("ORG", "starts-with", "builders")),
		"negated":            query(`<C:filter><C:prop-filter name="FN"><C:text-match negate-condition="yes">o</C:text-match></C:prop-filter></C:filter>`),
		"is-not-defined":     query(`<C:filter><C:prop-filter name="EMAIL"><C:is-not-defined/></C:prop-filter></C:filter>`),
		"defined":            query(`<C:filter><C:prop-filter name="NICKNAME"/></C:filter>`),
		"anyof":              query(`<C:filter test="anyof"><C:prop-filter name="FN"><C:text-match>kai</C:text-match></C:prop-filter><C:prop-filter name="ORG"><C:text-match>labs</C:text-match></C:prop-filter></C:filter>`),
		"allof":              query(`<C:filter test="allof"><C:prop-filter name="FN"><C:text-match>kai</C:text-match></C:prop-filter><C:prop-filter name="EMAIL"><C:text-match>acme</C:text-match></C:prop-filter></C:filter>`),
		"no match":           query(tm("FN", "equals", "nobody at all")),
	}
	multiget := func(book string) string {
		return `<?xml version="1.0"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop>` +
			`<D:href>` + book + `zoe.vcf</D:href><D:href>` + book + `kai.vcf</D:href><D:href>` + book + `missing.vcf</D:href></C:addressbook-multiget>`
	}
	type run struct{ name, sb, xk, method string }
	var runs []run
	for name, body := range reports {
		runs = append(runs, run{name, body, body, "REPORT"})
	}
	runs = append(runs, run{"multiget", multiget(sbBook), multiget(xkBook), "REPORT"},
		run{"PROPFIND getetag", `<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>`,
			`<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>`, "PROPFIND"})
	// (xandikos leaves address-data out of sync-collection answers.)
	sync := `<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
	runs = append(runs, run{"sync-collection without a token", sync, sync, "REPORT"})
	sort.Slice(runs, func(i, j int) bool { return runs[i].name < runs[j].name })
	compared, skipped := 0, 0
	defer func() { t.Logf("%d requests compared, %d not", compared, skipped) }()
	for _, r := range runs {
		hdr := map[string]string{"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}
		_, _, a := sb.do(r.method, sbBook, hdr, r.sb, 207)
		before, _ := os.ReadFile(logf.Name())
		st, _, b := xk.do(r.method, xkBook, hdr, r.xk, 0)
		if st != 207 {
			// Debian's xandikos 0.2.8 fails every addressbook-query with
			// a filter (AttributeError in apply_filter): those are
			// compared only where it can answer.
			log, _ := os.ReadFile(logf.Name())
			if r.method == "REPORT" && strings.Contains(string(log[len(before):]), "object has no attribute 'addressbook'") {
				t.Logf("%s: xandikos cannot answer (its addressbook-query bug); not compared", r.name)
				skipped++
				continue
			}
			t.Fatalf("%s: xandikos answered %d: %s\nits log:\n%s", r.name, st, b, log)
		}
		compared++
		ga, gb := parseMultistatus(t, a), parseMultistatus(t, b)
		if !slices.Equal(ga, gb) {
			t.Errorf("%s: switchboard and xandikos differ\nswitchboard: %q\nxandikos:    %q", r.name, ga, gb)
		}
	}
}

// parseMultistatus reduces a 207 body to sorted lines "<last href
// segment> <status or found properties> [address data]", card
// resources only.
func parseMultistatus(t *testing.T, body string) []string {
	t.Helper()
	var ms struct {
		Responses []struct {
			Href      string `xml:"DAV: href"`
			Status    string `xml:"DAV: status"`
			Propstats []struct {
				Status string `xml:"DAV: status"`
				Prop   struct {
					Any []struct {
						XMLName xml.Name
						Text    string `xml:",chardata"`
					} `xml:",any"`
				} `xml:"DAV: prop"`
			} `xml:"DAV: propstat"`
		} `xml:"DAV: response"`
	}
	if err := xml.Unmarshal([]byte(body), &ms); err != nil {
		t.Fatalf("multistatus: %v\n%s", err, body)
	}
	var out []string
	for _, r := range ms.Responses {
		name := path.Base(r.Href)
		if !strings.HasSuffix(name, ".vcf") {
			continue
		}
		line := name
		if r.Status != "" {
			line += " " + strings.TrimPrefix(r.Status, "HTTP/1.1 ")
		}
		for _, ps := range r.Propstats {
			if !strings.Contains(ps.Status, "200") {
				continue
			}
			for _, p := range ps.Prop.Any {
				line += " " + p.XMLName.Local
				if p.XMLName.Local == "address-data" {
					line += "=" + strings.ReplaceAll(strings.TrimSpace(p.Text), "\r\n", "\n")
				}
			}
		}
		out = append(out, line)
	}
	sort.Strings(out)
	return out
}
