package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// refreshRequiredProvider is a source that accepts any bind and answers
// every search with e-syncRefreshRequired, cookie or not: a failing
// export no refresh can satisfy. It returns its URL and a count of the
// searches it answered.
func refreshRequiredProvider(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var searches atomic.Int64
	srv := &ldap.Server{Handler: ldap.HandlerFunc(func(_ context.Context, w ldap.ResponseWriter, r *ldap.Request) {
		switch r.Op {
		case ldap.OpBindRequest:
			w.WriteResult(&ldap.Result{Code: ldap.Success})
		case ldap.OpSearchRequest:
			searches.Add(1)
			w.WriteResult(&ldap.Result{Code: ldap.SyncRefreshRequired, Diagnostic: "refresh required, always"})
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "ldap://" + l.Addr().String(), &searches
}

// TestFederationImportRefreshRequired: a source that answers
// e-syncRefreshRequired even to a refresh without a cookie makes the
// import stop (not retry for ever), report it, and purge its copy after
// the grace period.
func TestFederationImportRefreshRequired(t *testing.T) {
	url, searches := refreshRequiredProvider(t)
	b := startServer(t, "", "--suffix", fedSuffixB)
	addSuffixB(t, dialRoot(t, b))
	local := "ou=failing," + fedSuffixB
	fedWant(t, b, "PUT", "/api/v1/federation/imports/failing", map[string]any{"source": url, "bind_dn": fedPartnerB,
		"password": fedPassword, "remote_base": "ou=people,dc=example,dc=com", "local_base": local, "grace": "2s"},
		http.StatusCreated, nil)
	var im struct {
		State   string `json:"state"`
		Failure string `json:"failure"`
		PurgeAt string `json:"purge_at"`
	}
	eventually(t, 10*time.Second, "the import failed", func() bool {
		fedWant(t, b, "GET", "/api/v1/federation/imports/failing", nil, http.StatusOK, &im)
		return im.State == "failed" || im.State == "purged"
	})
	if !strings.Contains(im.Failure, "e-syncRefreshRequired") {
		t.Fatalf("failure %q", im.Failure)
	}
	eventually(t, 10*time.Second, "the import purged", func() bool {
		fedWant(t, b, "GET", "/api/v1/federation/imports/failing", nil, http.StatusOK, &im)
		return im.State == "purged"
	})
	if n := len(copyOf(t, b, local)); n != 0 {
		t.Fatalf("%d entries left", n)
	}
	// Stopped: it asks no more.
	n := searches.Load()
	time.Sleep(3 * time.Second)
	if m := searches.Load(); m != n || n > 2 {
		t.Fatalf("the stopped import searched %d times, then %d", n, m)
	}
}
