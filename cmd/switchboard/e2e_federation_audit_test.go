package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fedMetric reads one series from s's /metrics; ok is false if absent.
func fedMetric(t testing.TB, s *testServer, series string) (float64, bool) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + s.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		return 0, false
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v, true
}

// auditRecords returns the records of the audit log at path whose op is
// op, each as its lines.
func auditRecords(t testing.TB, path, op string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rec := range strings.Split(string(b), "\n\n") {
		if strings.Contains(rec, "\n# op: "+op+"\n") || strings.HasPrefix(rec, "# op: "+op+"\n") {
			out = append(out, rec)
		}
	}
	return out
}

// TestFederationAuditAndMetrics checks that export and import changes,
// an import's failure and its purge are in the audit log with who made
// them, and that each agreement has its metrics.
func TestFederationAuditAndMetrics(t *testing.T) {
	dir := t.TempDir()
	logA, logB := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	a := startServer(t, "", "--audit.file", logA)
	ac := dialRoot(t, a)
	addBase(t, ac)
	addFedPeople(t, ac, testSuffix, 30) // 10 in department 42
	b := startServer(t, "", "--suffix", fedSuffixB, "--audit.file", logB)
	bc := dialRoot(t, b)
	addSuffixB(t, bc)
	people := "ou=people," + testSuffix
	root := strings.ToLower(testRootDN)

	fedWant(t, a, "PUT", "/api/v1/federation/exports/beta", exportBody(people), http.StatusCreated, nil)
	recs := auditRecords(t, logA, "federation.export.put")
	if len(recs) != 1 || !strings.Contains(recs[0], "# who: "+root+"\n") || !strings.Contains(recs[0], "# object: beta\n") ||
		!strings.Contains(recs[0], "# detail: base="+people+"\n") || !strings.Contains(recs[0], "# detail: created=true\n") ||
		!strings.Contains(recs[0], "# from: 127.0.0.1:") || strings.Contains(recs[0], fedPassword) {
		t.Fatalf("export.put records: %q", recs)
	}
	// A refused PUT is recorded as a failure.
	bad := exportBody(people)
	bad["filter"] = "(("
	if code, _, _ := fedCall(t, a, "PUT", "/api/v1/federation/exports/beta", bad); code != http.StatusBadRequest {
		t.Fatalf("bad export: %d", code)
	}
	if recs := auditRecords(t, logA, "federation.export.put"); len(recs) != 2 || !strings.Contains(recs[1], "# result: 80 other\n# diagnostic: ") {
		t.Fatalf("refused export.put: %q", recs)
	}
	if _, ok := fedMetric(t, a, `switchboard_federation_export_last_fetch_age_seconds{export="beta"}`); ok {
		t.Fatal("last fetch age before any fetch")
	}

	local := "ou=alpha," + fedSuffixB
	imp := map[string]any{"source": a.URL, "bind_dn": fedPartnerB, "password": fedPassword,
		"remote_base": people, "local_base": local, "grace": "1s"}
	fedWant(t, b, "PUT", "/api/v1/federation/imports/alpha", imp, http.StatusCreated, nil)
	eventually(t, time.Minute, "B's copy complete", func() bool { return len(copyOf(t, b, local)) == 10 })
	if recs := auditRecords(t, logB, "federation.import.put"); len(recs) != 1 || !strings.Contains(recs[0], "# who: "+root+"\n") ||
		!strings.Contains(recs[0], "# detail: local_base="+local+"\n") || strings.Contains(recs[0], fedPassword) {
		t.Fatalf("import.put records: %q", recs)
	}

	// Metrics at both ends.
	eventually(t, 10*time.Second, "import metrics", func() bool {
		ent, _ := fedMetric(t, b, `switchboard_federation_import_entries{import="alpha"}`)
		applied, _ := fedMetric(t, b, `switchboard_federation_import_applied_changes_total{import="alpha"}`)
		persisting, _ := fedMetric(t, b, `switchboard_federation_import_state{import="alpha",state="persisting"}`)
		_, lag := fedMetric(t, b, `switchboard_federation_import_lag_seconds{import="alpha"}`)
		return ent == 10 && applied >= 10 && persisting == 1 && lag
	})
	if v, ok := fedMetric(t, b, `switchboard_federation_import_errors_total{import="alpha"}`); !ok || v != 0 {
		t.Fatalf("import errors %v %v", v, ok)
	}
	if v, _ := fedMetric(t, a, `switchboard_federation_export_binds_total{export="beta"}`); v < 1 {
		t.Fatalf("export binds %v", v)
	}
	if v, _ := fedMetric(t, a, `switchboard_federation_export_entries_sent_total{export="beta"}`); v < 10 {
		t.Fatalf("export entries sent %v", v)
	}
	if v, ok := fedMetric(t, a, `switchboard_federation_export_last_fetch_age_seconds{export="beta"}`); !ok || v < 0 || v > 60 {
		t.Fatalf("export last fetch age %v %v", v, ok)
	}

	// Revocation: the import fails, then its copy is purged, both
	// recorded as the server's doing; the metrics follow.
	fedWant(t, a, "DELETE", "/api/v1/federation/exports/beta", nil, http.StatusNoContent, nil)
	if recs := auditRecords(t, logA, "federation.export.delete"); len(recs) != 1 || !strings.Contains(recs[0], "# who: "+root+"\n") ||
		!strings.Contains(recs[0], "# object: beta\n") {
		t.Fatalf("export.delete records: %q", recs)
	}
	if _, ok := fedMetric(t, a, `switchboard_federation_export_binds_total{export="beta"}`); ok {
		t.Fatal("a revoked export keeps its metrics")
	}
	eventually(t, 30*time.Second, "the import purged", func() bool {
		v, _ := fedMetric(t, b, `switchboard_federation_import_state{import="alpha",state="purged"}`)
		return v == 1
	})
	failed := auditRecords(t, logB, "federation.import.failed")
	purged := auditRecords(t, logB, "federation.import.purge")
	if len(failed) != 1 || !strings.Contains(failed[0], "# who: server\n") || !strings.Contains(failed[0], "# object: alpha\n") ||
		len(purged) != 1 || !strings.Contains(purged[0], "# who: server\n") || !strings.Contains(purged[0], "# result: 0 success\n") {
		t.Fatalf("failed %q, purged %q", failed, purged)
	}
	if n := len(copyOf(t, b, local)); n != 0 {
		t.Fatalf("%d entries left after the purge", n)
	}

	// Deleting the import is recorded too; both logs still verify.
	fedWant(t, b, "DELETE", "/api/v1/federation/imports/alpha", nil, http.StatusNoContent, nil)
	if recs := auditRecords(t, logB, "federation.import.delete"); len(recs) != 1 || !strings.Contains(recs[0], "# who: "+root+"\n") {
		t.Fatalf("import.delete records: %q", recs)
	}
	for _, p := range []string{logA, logB} {
		if out, errOut, code := runCLI(t, "", "audit", "verify", p); code != 0 {
			t.Fatalf("audit verify %s: exit %d\n%s%s", p, code, out, errOut)
		}
	}
}
