package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFederationImportDiskFull: an import whose server's disk fills up
// while its source changes does not crash that server or lose its
// place: the import reports the refused write (last_error, retrying)
// and keeps its cookie; once space is freed it catches up with the
// changes made meanwhile, resuming from the cookie (no full refresh).
func TestFederationImportDiskFull(t *testing.T) {
	a := startServer(t, "")
	ac := dialRoot(t, a)
	addBase(t, ac)
	addFedPeople(t, ac, testSuffix, 30)
	people := "ou=people," + testSuffix
	fedWant(t, a, "PUT", "/api/v1/federation/exports/beta", exportBody(people), http.StatusCreated, nil)

	mnt := mountTmpfs(t, 512)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(openReadAccess+"limits:\n  disk_reserve_mb: 64\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := startServer(t, filepath.Join(mnt, "data"), "--suffix", fedSuffixB, "--config", cfg)
	addSuffixB(t, dialRoot(t, b))
	local := "ou=alpha," + fedSuffixB
	fedWant(t, b, "PUT", "/api/v1/federation/imports/alpha", map[string]any{"source": a.URL, "bind_dn": fedPartnerB,
		"password": fedPassword, "remote_base": people, "local_base": local}, http.StatusCreated, nil)
	eventually(t, time.Minute, "B's copy complete", func() bool { return len(copyOf(t, b, local)) == 10 })
	var v struct {
		State  string `json:"state"`
		Status struct {
			State         string `json:"state"`
			FullRefreshes int    `json:"full_refreshes"`
			LastError     string `json:"last_error"`
			HasCookie     bool   `json:"has_cookie"`
		} `json:"status"`
	}
	status := func() {
		t.Helper()
		fedWant(t, b, "GET", "/api/v1/federation/imports/alpha", nil, http.StatusOK, &v)
	}
	eventually(t, 30*time.Second, "the import has a cookie", func() bool { status(); return v.Status.HasCookie })
	fulls := v.Status.FullRefreshes

	// B's disk fills; A changes an exported entry.
	headroom := int64(metric(t, b, "switchboard_disk_headroom_bytes"))
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, make([]byte, headroom-32<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := ac.Modify(modReplace("uid=p3,"+people, "sn", "Written while B was full")); err != nil {
		t.Fatal(err)
	}
	if !poll(30*time.Second, func() bool { status(); return strings.Contains(v.Status.LastError, "disk is full") }) {
		t.Fatalf("the import does not report the full disk: %+v; p3 at B: %v\nB's log:\n%s", v,
			copyOf(t, b, local)[strings.ToLower("uid=p3,"+local)].GetAttributeValue("sn"), b.Log())
	}
	t.Logf("on the full disk: state %s, last error %q", v.State, v.Status.LastError)
	if !v.Status.HasCookie {
		t.Error("the import lost its cookie on the full disk")
	}
	p3 := strings.ToLower("uid=p3," + local)
	if e := copyOf(t, b, local)[p3]; e == nil || e.GetAttributeValue("sn") != "P3" {
		t.Errorf("B's copy of p3 on the full disk: %v", e)
	}
	resp, err := http.Get("http://" + b.Admin + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("B's /healthz on a full disk: %v %v", resp, err)
	}
	resp.Body.Close()

	// Space comes back: the change arrives, from the cookie.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	eventually(t, 90*time.Second, "B's copy catches up after space is freed", func() bool {
		e := copyOf(t, b, local)[p3]
		return e != nil && e.GetAttributeValue("sn") == "Written while B was full"
	})
	status()
	if v.Status.FullRefreshes != fulls {
		t.Errorf("full refreshes %d -> %d: the import started over instead of resuming from its cookie", fulls, v.Status.FullRefreshes)
	}
	if got := len(copyOf(t, b, local)); got != 10 {
		t.Errorf("B's copy has %d entries after recovery, want 10", got)
	}
}
