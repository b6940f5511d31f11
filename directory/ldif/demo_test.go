package ldif

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"os"
	"strings"
	"testing"
)

// TestDemoLDIF parses the committed demo data set (testdata/demo.ldif,
// written by testdata/gen -n 300) and checks its shape and referential
// integrity.
func TestDemoLDIF(t *testing.T) {
	f, err := os.Open("../../testdata/demo.ldif")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := NewReader(f, ReaderOptions{})
	entries := map[string]*Record{}
	var order []*Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.ChangeType != "" {
			t.Fatalf("line %d: unexpected change record", rec.Line)
		}
		key := strings.ToLower(rec.DN)
		if entries[key] != nil {
			t.Fatalf("line %d: duplicate DN %q", rec.Line, rec.DN)
		}
		entries[key] = rec
		order = append(order, rec)
	}
	get := func(rec *Record, typ string) [][]byte {
		for _, a := range rec.Attrs {
			if strings.EqualFold(a.Name, typ) {
				return a.Values
			}
		}
		return nil
	}
	has := func(rec *Record, typ, val string) bool {
		for _, v := range get(rec, typ) {
			if strings.EqualFold(string(v), val) {
				return true
			}
		}
		return false
	}

	const suffix = "dc=example,dc=com"
	var people, groups, posixGroups, uniqueGroups, mozilla, smiths, roots int
	uids, mails := map[string]bool{}, map[string]bool{}
	for _, rec := range order {
		// Every DN reference points at an entry in the file.
		for _, typ := range []string{"manager", "member", "uniqueMember", "owner"} {
			for _, v := range get(rec, typ) {
				if entries[strings.ToLower(string(v))] == nil {
					t.Errorf("%s: %s %q does not exist", rec.DN, typ, v)
				}
			}
		}
		if rec.DN != suffix && !strings.HasSuffix(rec.DN, ","+suffix) {
			t.Errorf("%q is outside the suffix", rec.DN)
		}
		switch {
		case has(rec, "objectClass", "inetOrgPerson"):
			people++
			if !strings.HasSuffix(rec.DN, ",ou=people,"+suffix) {
				t.Errorf("person %q not under ou=people", rec.DN)
			}
			for _, oc := range []string{"person", "organizationalPerson", "posixAccount", "shadowAccount"} {
				if !has(rec, "objectClass", oc) {
					t.Errorf("%s lacks objectClass %s", rec.DN, oc)
				}
			}
			uid := string(get(rec, "uid")[0])
			if rec.DN != "uid="+uid+",ou=people,"+suffix || uids[uid] {
				t.Errorf("bad or duplicate uid %q for %q", uid, rec.DN)
			}
			uids[uid] = true
			mail := string(get(rec, "mail")[0])
			if !strings.HasSuffix(mail, "@example.com") || mails[mail] {
				t.Errorf("bad or duplicate mail %q", mail)
			}
			mails[mail] = true
			if len(get(rec, "manager")) == 0 {
				roots++
			}
			if has(rec, "sn", "Smith") {
				smiths++
			}
			if has(rec, "objectClass", "mozillaAbPersonAlpha") {
				mozilla++
				if len(get(rec, "mozillaNickname")) != 1 || len(get(rec, "mozillaSecondEmail")) != 1 {
					t.Errorf("%s: Mozilla attributes missing", rec.DN)
				}
			}
			// {SSHA} of "password": base64(sha1(pw+salt)+salt).
			pw := string(get(rec, "userPassword")[0])
			raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(pw, "{SSHA}"))
			if !strings.HasPrefix(pw, "{SSHA}") || err != nil || len(raw) <= sha1.Size {
				t.Errorf("%s: bad userPassword %q", rec.DN, pw)
			} else {
				sum := sha1.Sum(append([]byte("password"), raw[sha1.Size:]...))
				if !bytes.Equal(sum[:], raw[:sha1.Size]) {
					t.Errorf("%s: userPassword is not the SSHA of \"password\"", rec.DN)
				}
			}
			for _, typ := range []string{"gecos", "uidNumber", "homeDirectory", "telephoneNumber", "postalAddress"} {
				if len(get(rec, typ)) == 0 {
					t.Errorf("%s: no %s", rec.DN, typ)
				}
			}
		case has(rec, "objectClass", "groupOfNames"), has(rec, "objectClass", "groupOfUniqueNames"):
			groups++
			if !strings.HasSuffix(rec.DN, ",ou=groups,"+suffix) {
				t.Errorf("group %q not under ou=groups", rec.DN)
			}
			if has(rec, "objectClass", "posixGroup") {
				posixGroups++
			}
			if has(rec, "objectClass", "groupOfUniqueNames") {
				uniqueGroups++
			}
		}
	}
	if people != 300 || groups != 16 || posixGroups != 3 || uniqueGroups != 1 || len(order) != 3+300+16 {
		t.Errorf("people %d groups %d posix %d unique %d entries %d; want 300 16 3 1 319",
			people, groups, posixGroups, uniqueGroups, len(order))
	}
	if roots != 1 {
		t.Errorf("%d people without a manager, want exactly one (the CEO)", roots)
	}
	if smiths < 3 || mozilla < 10 {
		t.Errorf("smiths %d mozilla %d", smiths, mozilla)
	}
	// The management graph is a tree: every chain reaches the CEO.
	for _, rec := range order {
		cur, steps := rec, 0
		for cur != nil && len(get(cur, "manager")) > 0 && steps <= people {
			cur = entries[strings.ToLower(string(get(cur, "manager")[0]))]
			steps++
		}
		if steps > people {
			t.Fatalf("manager cycle from %s", rec.DN)
		}
	}
	// Featured international names survive the base64 round trip.
	for _, cn := range []string{"José Müller", "Zoë Łukasiewicz", "Søren Ærø", "山田 太郎", "Yamada Tarō",
		"Иван Петров", "Νίκος Παπαδόπουλος", "محمد علي", "राहुल शर्मा", "Ngọc Ánh Trần"} {
		found := false
		for _, rec := range order {
			if has(rec, "cn", cn) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no entry with cn %q", cn)
		}
	}
}
