package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// cardDAVAccess is the access section of the CardDAV tests: the built-in
// defaults, with people whose description is "hidden" invisible to
// everyone (to make an entry leave a user's view by access rules).
const cardDAVAccess = `access:
  rules:
    - to dn.base="" by * read
    - to dn.base="cn=Subschema" by * read
    - to attrs=userPassword by self write by anonymous auth by * none
    - to attrs=pwdHistory by * none
    - to filter=(description=hidden) by * none
    - to attrs=switchboardName,switchboardVCard,switchboardCardRemoved by self.children write by * none
    - to attrs=children by self write by self.children write by users read by * none
    - to attrs=entry,objectClass by self.children write by users read by * none
    - to * by users read by * none
`

// startCardDAV starts a server with the CardDAV access rules plus extra
// configuration, and the people ou=people holds: alice and bob (who log
// in) and n more.
func startCardDAV(t *testing.T, n int, extraConfig string) (*testServer, *goldap.Conn) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "carddav.yaml")
	if err := os.WriteFile(cfg, []byte(cardDAVAccess+extraConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "", "--config", cfg)
	c := dialRoot(t, s)
	add := func(dn string, attrs map[string][]string) {
		t.Helper()
		req := goldap.NewAddRequest(dn, nil)
		keys := make([]string, 0, len(attrs))
		for k := range attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			req.Attribute(k, attrs[k])
		}
		if err := c.Add(req); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
	}
	add(testSuffix, map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"example"}, "o": {"Example"}})
	add("ou=people,"+testSuffix, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}})
	add("uid=alice,ou=people,"+testSuffix, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"alice"},
		"cn": {"Alice Ångström"}, "sn": {"Ångström"}, "givenName": {"Alice"}, "mail": {"alice@example.com"},
		"telephoneNumber": {"+1 555 0100"}, "o": {"Example"}, "userPassword": {"alice-pw"}})
	add("uid=bob,ou=people,"+testSuffix, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"bob"},
		"cn": {"Bob Builder"}, "sn": {"Builder"}, "mail": {"bob@example.com"}, "userPassword": {"bob-pw"},
		"title": {"Foreman"}, "o": {"Builders Ltd"}, "jpegPhoto": {"\xff\xd8\xff\xe0 not really a JPEG"}})
	for i := range n {
		add(fmt.Sprintf("uid=p%05d,ou=people,%s", i, testSuffix), map[string][]string{"objectClass": {"inetOrgPerson"},
			"uid": {fmt.Sprintf("p%05d", i)}, "cn": {fmt.Sprintf("Person %05d", i)}, "sn": {fmt.Sprintf("P%05d", i)},
			"mail": {fmt.Sprintf("p%05d@example.com", i)}, "telephoneNumber": {fmt.Sprintf("+1 555 %05d", i)}})
	}
	return s, c
}

// davClient speaks HTTP to the server's CardDAV surface as one user.
type davClient struct {
	t          *testing.T
	base, home string
	user, pass string
	requests   int
	bytes      int64
}

func newDAVClient(t *testing.T, s *testServer, user, pass string) *davClient {
	d := &davClient{t: t, base: "http://" + s.HTTP, user: user, pass: pass}
	_, _, body := d.do("PROPFIND", "/dav/", map[string]string{"Depth": "0"}, "", 207)
	m := regexp.MustCompile(`<D:current-user-principal><D:href>([^<]+)</D:href>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no current-user-principal in %s", body)
	}
	d.home = m[1]
	return d
}

// do sends a request and checks its status (0: any).
func (d *davClient) do(method, path string, hdr map[string]string, body string, want int) (int, http.Header, string) {
	d.t.Helper()
	req, err := http.NewRequest(method, d.base+path, strings.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	if d.user != "" {
		req.SetBasicAuth(d.user, d.pass)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	d.requests++
	d.bytes += int64(len(b)) + int64(len(body))
	if want != 0 && resp.StatusCode != want {
		d.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	return resp.StatusCode, resp.Header, string(b)
}

var (
	hrefRE  = regexp.MustCompile(`(?s)<D:response><D:href>([^<]+)</D:href>(.*?)</D:response>`)
	tokenRE = regexp.MustCompile(`<D:sync-token>([^<]+)</D:sync-token>`)
)

// syncReport runs sync-collection and returns the changed and removed
// card hrefs and the new token.
func (d *davClient) syncReport(book, token string) (changed, removed []string, next string) {
	d.t.Helper()
	body := `<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>` + token +
		`</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
	_, _, out := d.do("REPORT", d.home+book+"/", map[string]string{"Depth": "0"}, body, 207)
	for _, m := range hrefRE.FindAllStringSubmatch(out, -1) {
		if strings.Contains(m[2], "404 Not Found") && !strings.Contains(m[2], "<D:propstat>") {
			removed = append(removed, m[1])
		} else {
			changed = append(changed, m[1])
		}
	}
	t := tokenRE.FindStringSubmatch(out)
	if t == nil {
		d.t.Fatalf("no sync-token in %s", out)
	}
	sort.Strings(changed)
	sort.Strings(removed)
	return changed, removed, t[1]
}

func TestCardDAVDiscoveryAndDirectoryBook(t *testing.T) {
	s, root := startCardDAV(t, 20, "")
	// Discovery: the well-known URL redirects without credentials.
	anon := &davClient{t: t, base: "http://" + s.HTTP}
	_, hdr, _ := anon.do("GET", "/.well-known/carddav", nil, "", http.StatusMovedPermanently)
	if hdr.Get("Location") != "/dav/" {
		t.Errorf("well-known redirects to %q", hdr.Get("Location"))
	}
	anon.do("PROPFIND", "/dav/", nil, "", http.StatusUnauthorized)
	(&davClient{t: t, base: anon.base, user: "alice", pass: "wrong"}).do("PROPFIND", "/dav/", nil, "", http.StatusUnauthorized)

	d := newDAVClient(t, s, "alice", "alice-pw")
	aliceUUID := entryUUID(t, root, "uid=alice,ou=people,"+testSuffix)
	if d.home != "/dav/u/"+aliceUUID+"/" {
		t.Errorf("principal %q, want one named by alice's entryUUID", d.home)
	}
	_, _, home := d.do("PROPFIND", d.home, map[string]string{"Depth": "1"}, "", 207)
	for _, want := range []string{"<C:addressbook-home-set><D:href>" + d.home + "</D:href>", d.home + "directory/", d.home + "contacts/",
		"<C:addressbook/>", "<D:sync-collection/>"} {
		if !strings.Contains(home, want) {
			t.Errorf("home PROPFIND lacks %q:\n%s", want, home)
		}
	}
	// Depth: infinity is refused.
	_, _, body := d.do("PROPFIND", d.home, map[string]string{"Depth": "infinity"}, "", http.StatusForbidden)
	if !strings.Contains(body, "propfind-finite-depth") {
		t.Errorf("Depth: infinity: %s", body)
	}
	// Another user's principal is not there.
	bobUUID := entryUUID(t, root, "uid=bob,ou=people,"+testSuffix)
	d.do("PROPFIND", "/dav/u/"+bobUUID+"/", map[string]string{"Depth": "0"}, "", http.StatusNotFound)

	// The directory book: one card per person, named by entryUUID.
	_, _, list := d.do("PROPFIND", d.home+"directory/", map[string]string{"Depth": "1"},
		`<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>`, 207)
	cards := 0
	for _, m := range hrefRE.FindAllStringSubmatch(list, -1) {
		if strings.HasSuffix(m[1], ".vcf") {
			cards++
		}
	}
	if cards != 22 {
		t.Errorf("directory book lists %d cards, want 22", cards)
	}
	bobCard := d.home + "directory/" + bobUUID + ".vcf"
	_, hdr, v3 := d.do("GET", bobCard, nil, "", 200)
	for _, want := range []string{"VERSION:3.0", "UID:" + bobUUID, "FN:Bob Builder", "TITLE:Foreman", "ORG:Builders Ltd",
		"PHOTO;ENCODING=b;TYPE=JPEG:" + base64.StdEncoding.EncodeToString([]byte("\xff\xd8\xff\xe0 not really a JPEG"))[:24]} {
		if !strings.Contains(v3, want) {
			t.Errorf("3.0 card lacks %q:\n%s", want, v3)
		}
	}
	etag := hdr.Get("ETag")
	d.do("GET", bobCard, map[string]string{"If-None-Match": etag}, "", http.StatusNotModified)
	_, _, v4 := d.do("GET", bobCard, map[string]string{"Accept": "text/vcard; version=4.0"}, "", 200)
	if !strings.Contains(v4, "VERSION:4.0") || !strings.Contains(v4, "UID:urn:uuid:"+bobUUID) || !strings.Contains(v4, "PHOTO:data:image/jpeg;base64,") {
		t.Errorf("4.0 card:\n%s", v4)
	}
	// Read-only.
	_, _, body = d.do("PUT", bobCard, map[string]string{"Content-Type": "text/vcard"}, v3, http.StatusForbidden)
	if !strings.Contains(body, "read-only") {
		t.Errorf("PUT into the directory book: %s", body)
	}
	d.do("DELETE", bobCard, nil, "", http.StatusForbidden)

	// addressbook-query: text-match on FN, EMAIL, TEL, ORG.
	for _, tc := range []struct {
		prop, match, text string
		want              []string
	}{
		{"FN", "contains", "builder", []string{bobUUID}},
		{"EMAIL", "equals", "ALICE@example.com", []string{aliceUUID}},
		{"TEL", "starts-with", "+1 555 0100", []string{aliceUUID}},
		{"ORG", "ends-with", "ltd", []string{bobUUID}},
	} {
		q := `<?xml version="1.0"?><C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">` +
			`<D:prop><D:getetag/><C:address-data/></D:prop><C:filter><C:prop-filter name="` + tc.prop + `">` +
			`<C:text-match collation="i;unicode-casemap" match-type="` + tc.match + `">` + tc.text +
			`</C:text-match></C:prop-filter></C:filter></C:addressbook-query>`
		_, _, out := d.do("REPORT", d.home+"directory/", map[string]string{"Depth": "1"}, q, 207)
		var got []string
		for _, m := range hrefRE.FindAllStringSubmatch(out, -1) {
			got = append(got, strings.TrimSuffix(m[1][strings.LastIndex(m[1], "/")+1:], ".vcf"))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("query %s %s %q: %v, want %v", tc.prop, tc.match, tc.text, got, tc.want)
		}
	}
	// addressbook-multiget, with one href of another book.
	mg := `<?xml version="1.0"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">` +
		`<D:prop><D:getetag/><C:address-data version="4.0"/></D:prop><D:href>` + bobCard + `</D:href><D:href>` +
		d.home + `directory/` + aliceUUID + `.vcf</D:href><D:href>` + d.home + `contacts/x.vcf</D:href></C:addressbook-multiget>`
	_, _, out := d.do("REPORT", d.home+"directory/", nil, mg, 207)
	if strings.Count(out, "BEGIN:VCARD") != 2 || strings.Count(out, "VERSION:4.0") != 2 || !strings.Contains(out, "404 Not Found") ||
		!strings.Contains(out, "&#13;\n") {
		t.Errorf("multiget:\n%s", out)
	}
}

func TestCardDAVPersonalBook(t *testing.T) {
	s, root := startCardDAV(t, 0, "")
	d := newDAVClient(t, s, "alice", "alice-pw")
	d.do("PROPFIND", d.home, map[string]string{"Depth": "1"}, "", 207) // creates "contacts"
	_, _, _, tok := func() ([]string, []string, string, string) {
		c, r, tk := d.syncReport("contacts", "")
		return c, r, "", tk
	}()
	card := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card-1\r\nFN:Carol Contact\r\nN:Contact;Carol;;;\r\n" +
		"EMAIL;TYPE=home:carol@example.org\r\nitem1.X-ABLabel:_$!<Friend>!$_\r\nX-SOCIALPROFILE;TYPE=x:foo\r\nNOTE:ünïcödé\\, kept\r\nEND:VCARD\r\n"
	href := d.home + "contacts/card-1.vcf"
	_, hdr, _ := d.do("PUT", href, map[string]string{"Content-Type": "text/vcard; charset=utf-8", "If-None-Match": "*"}, card, http.StatusCreated)
	etag := hdr.Get("ETag")
	if etag == "" {
		t.Fatal("PUT returned no ETag")
	}
	_, hdr, got := d.do("GET", href, nil, "", 200)
	if got != card || hdr.Get("ETag") != etag {
		t.Errorf("GET after PUT: ETag %s (PUT gave %s), card:\n%q\nwant\n%q", hdr.Get("ETag"), etag, got, card)
	}
	d.do("PUT", href, map[string]string{"If-None-Match": "*"}, card, http.StatusPreconditionFailed)
	card2 := strings.Replace(card, "Carol Contact", "Carol Changed", 1)
	d.do("PUT", href, map[string]string{"If-Match": `"nope"`}, card2, http.StatusPreconditionFailed)
	_, hdr, _ = d.do("PUT", href, map[string]string{"If-Match": etag}, card2, http.StatusNoContent)
	etag2 := hdr.Get("ETag")

	// The card is an entry below alice's, its vCard hers alone.
	aliceDN := "uid=alice,ou=people," + testSuffix
	cardDN := "switchboardName=card-1.vcf,switchboardName=contacts," + aliceDN
	asUser := func(dn, pw string) *goldap.Conn {
		c, err := goldap.DialURL(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.Bind(dn, pw); err != nil {
			t.Fatal(err)
		}
		return c
	}
	vcardOf := func(c *goldap.Conn) string {
		res, err := c.Search(goldap.NewSearchRequest(cardDN, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=switchboardCard)", []string{"switchboardVCard"}, nil))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("read the card entry: %v", err)
		}
		return res.Entries[0].GetAttributeValue("switchboardVCard")
	}
	if v := vcardOf(asUser(aliceDN, "alice-pw")); v != card2 {
		t.Errorf("alice reads the card entry's vCard as %q", v)
	}
	bob := asUser("uid=bob,ou=people,"+testSuffix, "bob-pw")
	if v := vcardOf(bob); v != "" {
		t.Errorf("bob reads alice's card: %q", v)
	}
	// bob may not write below alice's entry, and alice may not add a
	// person below her own.
	req := goldap.NewAddRequest("switchboardName=evil.vcf,switchboardName=contacts,"+aliceDN, nil)
	req.Attribute("objectClass", []string{"switchboardCard"})
	req.Attribute("switchboardName", []string{"evil.vcf"})
	req.Attribute("switchboardVCard", []string{card})
	if err := bob.Add(req); !goldap.IsErrorWithCode(err, goldap.LDAPResultInsufficientAccessRights) {
		t.Errorf("bob adds a card to alice's book: %v", err)
	}
	req = goldap.NewAddRequest("uid=fake,"+aliceDN, nil)
	req.Attribute("objectClass", []string{"inetOrgPerson"})
	req.Attribute("uid", []string{"fake"})
	req.Attribute("cn", []string{"fake"})
	req.Attribute("sn", []string{"fake"})
	if err := asUser(aliceDN, "alice-pw").Add(req); !goldap.IsErrorWithCode(err, goldap.LDAPResultInsufficientAccessRights) {
		t.Errorf("alice adds a person below her entry: %v", err)
	}
	// bob's CardDAV view does not include alice's book.
	db := newDAVClient(t, s, "bob", "bob-pw")
	db.do("PROPFIND", d.home+"contacts/", map[string]string{"Depth": "0"}, "", http.StatusNotFound)
	db.do("GET", href, nil, "", http.StatusNotFound)

	// sync-collection sees the new card; a second card, then deleting
	// the first, shows as one change and one removal.
	changed, removed, tok2 := d.syncReport("contacts", tok)
	if !slices.Equal(changed, []string{href}) || len(removed) != 0 {
		t.Errorf("sync after PUT: changed %v removed %v", changed, removed)
	}
	href2 := d.home + "contacts/card-2.vcf"
	d.do("PUT", href2, nil, strings.Replace(card, "card-1", "card-2", 1), http.StatusCreated)
	d.do("DELETE", href, map[string]string{"If-Match": `"stale"`}, "", http.StatusPreconditionFailed)
	d.do("DELETE", href, map[string]string{"If-Match": etag2}, "", http.StatusNoContent)
	d.do("GET", href, nil, "", http.StatusNotFound)
	changed, removed, _ = d.syncReport("contacts", tok2)
	if !slices.Equal(changed, []string{href2}) || !slices.Equal(removed, []string{href}) {
		t.Errorf("sync after PUT and DELETE: changed %v removed %v", changed, removed)
	}
	// A card deleted over LDAP has no name the book knows: the token is
	// refused and the client lists the book again.
	_, _, tok3 := d.syncReport("contacts", "")
	if err := root.Del(goldap.NewDelRequest("switchboardName=card-2.vcf,switchboardName=contacts,"+aliceDN, nil)); err != nil {
		t.Fatal(err)
	}
	body := `<D:sync-collection xmlns:D="DAV:"><D:sync-token>` + tok3 + `</D:sync-token><D:sync-level>1</D:sync-level><D:prop/></D:sync-collection>`
	_, _, out := d.do("REPORT", d.home+"contacts/", nil, body, http.StatusForbidden)
	if !strings.Contains(out, "valid-sync-token") {
		t.Errorf("sync after an LDAP delete: %s", out)
	}
}

func TestCardDAVSyncCollectionAfter100Changes(t *testing.T) {
	s, root := startCardDAV(t, 150, "")
	d := newDAVClient(t, s, "alice", "alice-pw")
	_, _, tok := d.syncReport("directory", "")
	href := func(dn string) string { return d.home + "directory/" + entryUUID(t, root, dn) + ".vcf" }
	dn := func(i int) string { return fmt.Sprintf("uid=p%05d,ou=people,%s", i, testSuffix) }
	var wantChanged, wantRemoved []string
	// 60 modifies, 20 renames, 19 deletes, 1 made invisible by access.
	for i := 0; i < 60; i++ {
		m := goldap.NewModifyRequest(dn(i), nil)
		m.Replace("title", []string{fmt.Sprintf("Title %d", i)})
		if err := root.Modify(m); err != nil {
			t.Fatal(err)
		}
		wantChanged = append(wantChanged, href(dn(i)))
	}
	for i := 60; i < 80; i++ {
		h := href(dn(i))
		if err := root.ModifyDN(goldap.NewModifyDNRequest(dn(i), fmt.Sprintf("uid=r%05d", i), true, "")); err != nil {
			t.Fatal(err)
		}
		wantChanged = append(wantChanged, h)
	}
	for i := 80; i < 99; i++ {
		wantRemoved = append(wantRemoved, href(dn(i)))
		if err := root.Del(goldap.NewDelRequest(dn(i), nil)); err != nil {
			t.Fatal(err)
		}
	}
	wantRemoved = append(wantRemoved, href(dn(99)))
	m := goldap.NewModifyRequest(dn(99), nil)
	m.Replace("description", []string{"hidden"})
	if err := root.Modify(m); err != nil {
		t.Fatal(err)
	}
	sort.Strings(wantChanged)
	sort.Strings(wantRemoved)
	changed, removed, tok2 := d.syncReport("directory", tok)
	if !slices.Equal(changed, wantChanged) {
		t.Errorf("changed: %d hrefs, want %d\ngot  %v\nwant %v", len(changed), len(wantChanged), changed, wantChanged)
	}
	if !slices.Equal(removed, wantRemoved) {
		t.Errorf("removed: %d hrefs, want %d\ngot  %v\nwant %v", len(removed), len(wantRemoved), removed, wantRemoved)
	}
	// Nothing changed since: an empty answer.
	changed, removed, _ = d.syncReport("directory", tok2)
	if len(changed)+len(removed) != 0 {
		t.Errorf("sync without changes: changed %v removed %v", changed, removed)
	}
	// A token of another collection, or garbage, is refused.
	for _, bad := range []string{strings.Replace(tok2, "sync:", "sync:0", 1), "urn:x-switchboard:sync:zz:zz", "http://example.com/token"} {
		body := `<D:sync-collection xmlns:D="DAV:"><D:sync-token>` + bad + `</D:sync-token><D:sync-level>1</D:sync-level><D:prop/></D:sync-collection>`
		_, _, out := d.do("REPORT", d.home+"directory/", nil, body, http.StatusForbidden)
		if !strings.Contains(out, "<D:valid-sync-token/>") {
			t.Errorf("token %q: %s", bad, out)
		}
	}
	_, _, _ = d.do("PROPFIND", d.home, map[string]string{"Depth": "1"}, "", 207)
	_, _, ctok := d.syncReport("contacts", "")
	body := `<D:sync-collection xmlns:D="DAV:"><D:sync-token>` + ctok + `</D:sync-token><D:sync-level>1</D:sync-level><D:prop/></D:sync-collection>`
	d.do("REPORT", d.home+"directory/", nil, body, http.StatusForbidden)
}

func TestCardDAVExpiredToken(t *testing.T) {
	s, root := startCardDAV(t, 5, "replication:\n  changelog:\n    max_entries: 3\n    trim_interval: 200ms\n")
	d := newDAVClient(t, s, "alice", "alice-pw")
	_, _, tok := d.syncReport("directory", "")
	for i := range 10 {
		m := goldap.NewModifyRequest(fmt.Sprintf("uid=p%05d,ou=people,%s", i%5, testSuffix), nil)
		m.Replace("title", []string{fmt.Sprint(i)})
		if err := root.Modify(m); err != nil {
			t.Fatal(err)
		}
	}
	body := `<D:sync-collection xmlns:D="DAV:"><D:sync-token>` + tok + `</D:sync-token><D:sync-level>1</D:sync-level><D:prop/></D:sync-collection>`
	var out string
	for range 50 {
		var st int
		st, _, out = d.do("REPORT", d.home+"directory/", nil, body, 0)
		if st == http.StatusForbidden {
			break
		}
		waitBriefly()
	}
	if !strings.Contains(out, "<D:valid-sync-token/>") || !strings.Contains(out, "expired") {
		t.Errorf("expired token: %s", out)
	}
}

func TestCardDAVBadInput(t *testing.T) {
	s, _ := startCardDAV(t, 0, "carddav:\n  max_card_bytes: 4096\n  max_photo_bytes: 100\n  max_request_bytes: 65536\nlimits:\n  max_value_bytes: 3000\n")
	d := newDAVClient(t, s, "alice", "alice-pw")
	d.do("PROPFIND", d.home, map[string]string{"Depth": "1"}, "", 207)
	book := d.home + "contacts/"
	check := func(name string, status int, body, want string) {
		t.Helper()
		if !strings.Contains(body, want) {
			t.Errorf("%s: status %d body %s; want it to say %q", name, status, body, want)
		}
	}
	for _, tc := range []struct {
		name, card string
		status     int
		want       string
	}{
		{"malformed", "BEGIN:VCARD\r\nVERSION:4.0\r\nFN\r\nEND:VCARD\r\n", 400, "line 3: expected ':'"},
		{"not a vcard", "hello", 400, "line 1: expected ':'"},
		{"two cards", "BEGIN:VCARD\r\nVERSION:4.0\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:4.0\r\nEND:VCARD\r\n", 400, "one card per resource"},
		{"oversized", "BEGIN:VCARD\r\nVERSION:4.0\r\nNOTE:" + strings.Repeat("x", 5000) + "\r\nEND:VCARD\r\n", 413, "larger than 4096 bytes"},
		{"over the directory's value limit", "BEGIN:VCARD\r\nVERSION:4.0\r\nNOTE:" + strings.Repeat("x", 3200) + "\r\nEND:VCARD\r\n", 403, "over a limit of the directory"},
		{"photo", "BEGIN:VCARD\r\nVERSION:4.0\r\nPHOTO:data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 200)) + "\r\nEND:VCARD\r\n", 413, "PHOTO is 200 bytes"},
	} {
		_, _, body := d.do("PUT", book+"bad.vcf", map[string]string{"Content-Type": "text/vcard"}, tc.card, tc.status)
		check(tc.name, tc.status, body, tc.want)
	}
	_, _, body := d.do("PUT", book+"bad.vcf", map[string]string{"Content-Type": "application/json"}, "{}", http.StatusUnsupportedMediaType)
	check("content type", 415, body, "supported-address-data")

	bomb := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>` +
		`<D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&lol2;</D:displayname></D:prop></D:propfind>`
	xxe := `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><D:propfind xmlns:D="DAV:"><D:prop>&e;</D:prop></D:propfind>`
	deep := `<D:propfind xmlns:D="DAV:">` + strings.Repeat("<D:prop>", 100) + strings.Repeat("</D:prop>", 100) + `</D:propfind>`
	for _, tc := range []struct{ name, body, want string }{
		{"entity bomb", bomb, "DTD"},
		{"external entity", xxe, "DTD"},
		{"deep", deep, "nested deeper than"},
		{"malformed", `<D:propfind xmlns:D="DAV:"><D:prop>`, "malformed XML"},
	} {
		_, _, out := d.do("PROPFIND", book, map[string]string{"Depth": "0"}, tc.body, http.StatusBadRequest)
		check(tc.name, 400, out, tc.want)
	}
	big := `<D:propfind xmlns:D="DAV:"><D:prop>` + strings.Repeat("<D:displayname/>", 80000) + `</D:prop></D:propfind>`
	_, _, out := d.do("PROPFIND", book, map[string]string{"Depth": "0"}, big, http.StatusRequestEntityTooLarge)
	check("huge body", 413, out, "larger than")
	// Hrefs climbing out of the book.
	for _, h := range []string{d.home + "contacts/../../u/x/contacts/a.vcf", d.home + "contacts/%2e%2e/x.vcf", "/dav/u/" + "\x01"} {
		mg := `<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop><D:href>` +
			strings.ReplaceAll(h, "\x01", "%01") + `</D:href></C:addressbook-multiget>`
		_, _, out := d.do("REPORT", book, nil, mg, http.StatusBadRequest)
		check("href "+h, 400, out, "bad href")
	}
	d.do("REPORT", book, nil, `<D:expand-property xmlns:D="DAV:"/>`, http.StatusForbidden)
	// The server still answers.
	d.do("PROPFIND", book, map[string]string{"Depth": "1"}, "", 207)
}

func waitBriefly() { time.Sleep(100 * time.Millisecond) }

func TestCardDAVExportVCard(t *testing.T) {
	s, root := startCardDAV(t, 3, "")
	d := newDAVClient(t, s, "alice", "alice-pw")
	d.do("PROPFIND", d.home, map[string]string{"Depth": "1"}, "", 207)
	d.do("PUT", d.home+"contacts/private.vcf", nil, "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Private Person\r\nEND:VCARD\r\n", 201)
	aliceUUID := entryUUID(t, root, "uid=alice,ou=people,"+testSuffix)
	s.Stop()
	out, errOut, code := runCLI(t, "", "export", "--data", s.Data, "--format", "vcard", "--base", "ou=people,"+testSuffix, "--vcard-version", "4.0")
	if code != 0 {
		t.Fatalf("export --format vcard: exit %d: %s", code, errOut)
	}
	if n := strings.Count(out, "BEGIN:VCARD"); n != 5 || strings.Contains(out, "Private Person") {
		t.Errorf("export: %d cards (want 5, the people only):\n%s", n, out)
	}
	for _, want := range []string{"VERSION:4.0", "UID:urn:uuid:" + aliceUUID, "FN:Alice Ångström", "EMAIL;TYPE=work:alice@example.com"} {
		if !strings.Contains(out, want) {
			t.Errorf("export lacks %q", want)
		}
	}
	if out, _, _ := runCLI(t, "", "export", "--data", s.Data, "--format", "vcard", "--base", "uid=bob,ou=people,"+testSuffix); strings.Count(out, "BEGIN:VCARD") != 1 || !strings.Contains(out, "FN:Bob Builder") {
		t.Errorf("export of one entry:\n%s", out)
	}
	if _, errOut, code := runCLI(t, "", "export", "--data", s.Data, "--format", "csv"); code == 0 || !strings.Contains(errOut, "want ldif or vcard") {
		t.Errorf("--format csv: exit %d: %s", code, errOut)
	}
}
