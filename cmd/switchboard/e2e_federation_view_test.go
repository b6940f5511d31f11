package main

import (
	"net/http"
	"testing"
	"time"
)

// TestFederationViewChange: narrowing an export's filter, then its
// attributes, shrinks the partner's copy within 5 s, though the entries
// that left the view did not change (the partner's next session gets the
// present phase: its cookie is of the old view).
func TestFederationViewChange(t *testing.T) {
	a := startServer(t, "")
	ac := dialRoot(t, a)
	addBase(t, ac)
	addFedPeople(t, ac, testSuffix, 30) // 10 in department 42
	b := startServer(t, "", "--suffix", fedSuffixB)
	addSuffixB(t, dialRoot(t, b))
	people := "ou=people," + testSuffix
	local := "ou=alpha," + fedSuffixB

	fedWant(t, a, "PUT", "/api/v1/federation/exports/beta", exportBody(people), http.StatusCreated, nil)
	fedWant(t, b, "PUT", "/api/v1/federation/imports/alpha", map[string]any{"source": a.URL, "bind_dn": fedPartnerB,
		"password": fedPassword, "remote_base": people, "local_base": local}, http.StatusCreated, nil)
	eventually(t, time.Minute, "B's copy complete", func() bool { return len(copyOf(t, b, local)) == 10 })

	// A change at A, so that the partner's cookie is past the refresh.
	mod := exportBody(people)
	delete(mod, "password")
	mod["filter"] = "(&(departmentNumber=42)(|(uid=p0)(uid=p3)(uid=p6)))"
	fedWant(t, a, "PUT", "/api/v1/federation/exports/beta", mod, http.StatusOK, nil)
	took := eventually(t, 5*time.Second, "B's copy narrowed to 3 entries", func() bool { return len(copyOf(t, b, local)) == 3 })
	t.Logf("the filter narrowed: the copy followed in %v", took.Round(time.Millisecond))
	if c := copyOf(t, b, local); c["uid=p3,"+local] == nil || c["uid=p9,"+local] != nil {
		t.Fatalf("the copy: %v", keys(c))
	}

	// Dropping an attribute from the view drops it from the copy.
	mod["attributes"] = []string{"cn", "sn", "uid"}
	fedWant(t, a, "PUT", "/api/v1/federation/exports/beta", mod, http.StatusOK, nil)
	took = eventually(t, 5*time.Second, "mail gone from B's copy", func() bool {
		c := copyOf(t, b, local)
		if len(c) != 3 {
			return false
		}
		for _, e := range c {
			if e.GetAttributeValue("mail") != "" || e.GetAttributeValue("cn") == "" {
				return false
			}
		}
		return true
	})
	t.Logf("the attributes narrowed: the copy followed in %v", took.Round(time.Millisecond))

	// Widening it again brings the entries back.
	mod["filter"] = "(departmentNumber=42)"
	fedWant(t, a, "PUT", "/api/v1/federation/exports/beta", mod, http.StatusOK, nil)
	eventually(t, 5*time.Second, "B's copy widened to 10 entries", func() bool { return len(copyOf(t, b, local)) == 10 })
}
