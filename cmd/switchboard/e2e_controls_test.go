package main

// End-to-end checks of the search and write controls (server-side sort,
// VLV, assertion, pre/post-read, matched values, tree delete) through
// go-ldap and Debian's ldap-utils against a --demo server.

import (
	"strconv"
	"strings"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

func vlvValue(before, after, offset, count int) string {
	seq := ber.NewSequence("VLV")
	seq.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, before, ""))
	seq.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, after, ""))
	t := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "byOffset")
	t.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, offset, ""))
	t.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, count, ""))
	seq.AppendChild(t)
	return string(seq.Bytes())
}

func TestControlsGoLDAP(t *testing.T) {
	s := startServer(t, "", "--demo")
	root := dialRoot(t, s)
	anon := dialE2E(t, s, "", "")

	sorted := func(c *goldap.Conn, ctrls ...goldap.Control) []int {
		t.Helper()
		req := goldap.NewSearchRequest(peopleDN, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=posixAccount)", []string{"uidNumber"}, ctrls)
		res, err := c.Search(req)
		if err != nil {
			t.Fatalf("sorted search: %v", err)
		}
		var out []int
		for _, e := range res.Entries {
			n, _ := strconv.Atoi(e.GetAttributeValue("uidNumber"))
			out = append(out, n)
		}
		return out
	}
	t.Run("sort", func(t *testing.T) {
		got := sorted(anon, goldap.NewControlServerSideSortingWithSortKeys([]*goldap.SortKey{{AttributeType: "uidNumber", Reverse: true}}))
		if len(got) < 100 {
			t.Fatalf("%d entries", len(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i-1] <= got[i] {
				t.Fatalf("not in descending uidNumber order at %d: %v", i, got[i-1:i+1])
			}
		}
		// Critical sort on a type without an ordering rule: by its
		// equality rule (e2e_sort_test.go).
		req := goldap.NewSearchRequest(peopleDN, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=person)", []string{"sn"}, []goldap.Control{goldap.NewControlString(goldap.ControlTypeServerSideSorting, true,
				goldap.NewControlServerSideSortingWithSortKeys([]*goldap.SortKey{{AttributeType: "sn"}}).Encode().Children[1].Data.String())})
		_, err := anon.Search(req)
		wantCode(t, "critical sort by sn", err, 0)
	})
	t.Run("vlv", func(t *testing.T) {
		all := sorted(anon, goldap.NewControlServerSideSortingWithSortKeys([]*goldap.SortKey{{AttributeType: "uidNumber"}}))
		got := sorted(anon, goldap.NewControlServerSideSortingWithSortKeys([]*goldap.SortKey{{AttributeType: "uidNumber"}}),
			goldap.NewControlString(goldap.ControlTypeVLVRequest, true, vlvValue(2, 3, 20, 0)))
		if want := all[17:23]; !equalInts(got, want) {
			t.Fatalf("VLV window: %v, want %v", got, want)
		}
		// Without the sort control: sortControlMissing (60).
		req := goldap.NewSearchRequest(peopleDN, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=person)", nil, []goldap.Control{goldap.NewControlString(goldap.ControlTypeVLVRequest, true, vlvValue(0, 1, 1, 0))})
		_, err := anon.Search(req)
		wantCode(t, "VLV without sort", err, 60)
	})
	t.Run("writes", func(t *testing.T) {
		add := goldap.NewAddRequest("ou=ctl,"+testSuffix, nil)
		add.Attribute("objectClass", []string{"organizationalUnit"})
		add.Attribute("ou", []string{"ctl"})
		if err := root.Add(add); err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"a", "b"} {
			a := goldap.NewAddRequest("cn="+u+",ou=ctl,"+testSuffix, nil)
			a.Attribute("objectClass", []string{"device"})
			a.Attribute("cn", []string{u})
			if err := root.Add(a); err != nil {
				t.Fatal(err)
			}
		}
		mod := goldap.NewModifyRequest("cn=a,ou=ctl,"+testSuffix, []goldap.Control{
			goldap.NewControlString("1.3.6.1.1.12", true, string(mustFilter(t, "(cn=b)")))})
		mod.Replace("description", []string{"x"})
		wantCode(t, "modify with a failing assertion", root.Modify(mod), 122)
		del := goldap.NewDelRequest("ou=ctl,"+testSuffix, nil)
		wantCode(t, "delete of a non-leaf", root.Del(del), 66)
		del.Controls = []goldap.Control{goldap.NewControlSubtreeDelete()}
		wantCode(t, "tree delete", root.Del(del), 0)
	})
}

func mustFilter(t *testing.T, f string) []byte {
	p, err := goldap.CompileFilter(f)
	if err != nil {
		t.Fatal(err)
	}
	return p.Bytes()
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestControlsLDAPUtils(t *testing.T) {
	s := startServer(t, "", "--demo")
	out, code := s.ldapTool(t, "", "ldapsearch", "-LLL", "-b", peopleDN, "-s", "one", "-E", "!sss=-uidNumber",
		"-z", "3", "(objectClass=posixAccount)", "uidNumber")
	if got := grepPrefix(out, "uidNumber: "); code != 4 || len(got) != 3 || !(got[0] > got[1] && got[1] > got[2]) {
		t.Errorf("ldapsearch -E !sss=-uidNumber -z 3: exit %d, %v\n%s", code, got, out)
	}
	out, code = s.ldapTool(t, "", "ldapsearch", "-LLL", "-b", peopleDN, "-s", "one", "-E", "!sss=sn", "(objectClass=person)", "sn")
	if got := grepPrefix(out, "sn: "); code != 0 || len(got) < 100 || !sortedFold(got) {
		t.Errorf("ldapsearch -E !sss=sn (no ordering rule: by the equality rule): exit %d, %d values\n%.500s", code, len(got), out)
	}
	out, code = s.ldapTool(t, "", "ldapsearch", "-LLL", "-b", peopleDN, "-s", "one", "-E", "sss=sn:caseIgnoreOrderingMatch/uid:caseIgnoreOrderingMatch",
		"(objectClass=person)", "sn")
	if got := grepPrefix(out, "sn: "); code != 0 || len(got) < 100 || !sortedFold(got) {
		t.Errorf("ldapsearch -E sss=sn:caseIgnoreOrderingMatch: exit %d, %d values\n%.500s", code, len(got), out)
	}
	out, code = s.ldapTool(t, "", "ldapsearch", "-LLL", "-b", "uid=jmuller,"+peopleDN, "-s", "base", "-e", "!assert=(uid=nobody)", "(objectClass=*)", "uid")
	if code != 122 {
		t.Errorf("ldapsearch -e !assert: exit %d\n%s", code, out)
	}
	out, code = s.ldapTool(t, "", "ldapsearch", "-LLL", "-b", "uid=jmuller,"+peopleDN, "-s", "base", "-E", "!mv=(objectClass=inetOrgPerson)", "(objectClass=*)", "objectClass", "uid")
	if code != 0 || !strings.Contains(out, "objectClass: inetOrgPerson") || strings.Contains(out, "uid:") || strings.Contains(out, "objectClass: top") {
		t.Errorf("ldapsearch -E !mv: exit %d\n%s", code, out)
	}
	ldif := "dn: uid=jmuller," + peopleDN + "\nchangetype: modify\nreplace: title\ntitle: Chief\n"
	out, code = s.ldapTool(t, ldif, "ldapmodify", "-e", "!preread=title", "-e", "!postread=title")
	if code != 0 || !strings.Contains(out, "title: Chief") || !strings.Contains(out, "Pre-Read") && !strings.Contains(out, "preread") {
		t.Errorf("ldapmodify -e preread,postread: exit %d\n%s", code, out)
	}
}

func grepPrefix(out, prefix string) []string {
	var got []string
	for _, l := range lines(out) {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			got = append(got, v)
		}
	}
	return got
}

func sortedFold(vals []string) bool {
	for i := 1; i < len(vals); i++ {
		if strings.ToLower(vals[i-1]) > strings.ToLower(vals[i]) && isASCII(vals[i-1]) && isASCII(vals[i]) {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
