package main

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// TestCardDAVSyncCost measures what a client pays to sync the directory
// book: an initial sync of N cards (sync-collection with address-data,
// and the PROPFIND-then-multiget way most clients take) and an
// incremental sync after 10 changes, in requests, bytes and time. It runs
// only with SWITCHBOARD_CARDDAV_BENCH=N (people); figures are logged.
//
//	SWITCHBOARD_CARDDAV_BENCH=10000 go test -count=1 -v -run TestCardDAVSyncCost ./cmd/switchboard/
func TestCardDAVSyncCost(t *testing.T) {
	v := os.Getenv("SWITCHBOARD_CARDDAV_BENCH")
	if v == "" {
		t.Skip("set SWITCHBOARD_CARDDAV_BENCH=N to measure syncing N people")
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatal(err)
	}
	setup := time.Now()
	s, root := startCardDAV(t, n, "")
	t.Logf("set up %d people in %v", n+2, time.Since(setup))
	book := "directory"
	measure := func(name string, fn func(d *davClient) int) {
		d := newDAVClient(t, s, "alice", "alice-pw")
		d.requests, d.bytes = 0, 0
		start := time.Now()
		cards := fn(d)
		t.Logf("%-44s %6d cards %5d requests %10d bytes %v", name, cards, d.requests, d.bytes, time.Since(start).Round(time.Millisecond))
	}
	var token string
	measure("initial sync-collection with address-data", func(d *davClient) int {
		body := `<D:sync-collection xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:sync-token/>` +
			`<D:sync-level>1</D:sync-level><D:prop><D:getetag/><C:address-data/></D:prop></D:sync-collection>`
		_, _, out := d.do("REPORT", d.home+book+"/", nil, body, 207)
		token = tokenRE.FindStringSubmatch(out)[1]
		return strings.Count(out, "BEGIN:VCARD")
	})
	measure("initial PROPFIND + multiget (100 per request)", func(d *davClient) int {
		_, _, list := d.do("PROPFIND", d.home+book+"/", map[string]string{"Depth": "1"},
			`<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>`, 207)
		hrefs := regexp.MustCompile(`<D:href>([^<]+\.vcf)</D:href>`).FindAllStringSubmatch(list, -1)
		cards := 0
		for i := 0; i < len(hrefs); i += 100 {
			var b strings.Builder
			b.WriteString(`<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop>`)
			for _, h := range hrefs[i:min(i+100, len(hrefs))] {
				b.WriteString("<D:href>" + h[1] + "</D:href>")
			}
			b.WriteString("</C:addressbook-multiget>")
			_, _, out := d.do("REPORT", d.home+book+"/", nil, b.String(), 207)
			cards += strings.Count(out, "BEGIN:VCARD")
		}
		return cards
	})
	for i := range 10 {
		m := goldap.NewModifyRequest(fmt.Sprintf("uid=p%05d,ou=people,%s", i*(n/10), testSuffix), nil)
		m.Replace("title", []string{"Changed"})
		if err := root.Modify(m); err != nil {
			t.Fatal(err)
		}
	}
	measure("incremental sync-collection, 10 changes", func(d *davClient) int {
		body := `<D:sync-collection xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:sync-token>` + token +
			`</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/><C:address-data/></D:prop></D:sync-collection>`
		_, _, out := d.do("REPORT", d.home+book+"/", nil, body, 207)
		return strings.Count(out, "BEGIN:VCARD")
	})
	measure("incremental by PROPFIND (etag listing)", func(d *davClient) int {
		_, _, list := d.do("PROPFIND", d.home+book+"/", map[string]string{"Depth": "1"},
			`<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>`, 207)
		return strings.Count(list, "<D:getetag>")
	})
}
