package main

import (
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// TestFederationImportPasswordSealed: a server with a master key keeps
// an import's password sealed in federation.json, and after a restart
// opens it and goes on importing.
func TestFederationImportPasswordSealed(t *testing.T) {
	a := startServer(t, "")
	ac := dialRoot(t, a)
	addBase(t, ac)
	addFedPeople(t, ac, testSuffix, 30)
	people := "ou=people," + testSuffix
	fedWant(t, a, "PUT", "/api/v1/federation/exports/beta", exportBody(people), http.StatusCreated, nil)

	b := startServer(t, "", "--suffix", fedSuffixB, "--encryption.key-file", keyFile(t, "b.key", hex.EncodeToString))
	addSuffixB(t, dialRoot(t, b))
	local := "ou=alpha," + fedSuffixB
	fedWant(t, b, "PUT", "/api/v1/federation/imports/alpha", map[string]any{"source": a.URL, "bind_dn": fedPartnerB,
		"password": fedPassword, "remote_base": people, "local_base": local}, http.StatusCreated, nil)
	eventually(t, time.Minute, "B's copy complete", func() bool { return len(copyOf(t, b, local)) == 10 })

	stored, err := os.ReadFile(filepath.Join(b.Data, "federation.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored), fedPassword) || !strings.Contains(string(stored), `"password_sealed": "`) {
		t.Fatalf("federation.json:\n%s", stored)
	}
	var im struct {
		PasswordSealed string `json:"password_sealed"`
		Password       string `json:"password"`
	}
	fedWant(t, b, "GET", "/api/v1/federation/imports/alpha", nil, http.StatusOK, &im)
	if im.PasswordSealed != "" || im.Password != "" {
		t.Fatalf("GET shows the password: %+v", im)
	}

	b.Restart()
	mod := goldap.NewModifyRequest("uid=p3,"+people, nil)
	mod.Replace("cn", []string{"Renamed After Restart"})
	if err := dialRoot(t, a).Modify(mod); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "the change at B after its restart", func() bool {
		e := copyOf(t, b, local)["uid=p3,"+local]
		return e != nil && e.GetAttributeValue("cn") == "Renamed After Restart"
	})
}
