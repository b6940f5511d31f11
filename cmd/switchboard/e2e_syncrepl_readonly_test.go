package main

// A consumer's copy is read-only (replication.syncrepl on_write): local
// writes into it are refused, by the root DN too, with unwillingToPerform
// naming the consumer or with a referral to the provider, while the
// consumer's own changes go on; and the consumer's metrics.

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/replication"
)

// writableCopyConfig is syncreplServerConfig where every bound user may
// write everywhere: a refusal then comes from the copy, not the access
// rules.
func writableCopyConfig(t *testing.T, item ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("access:\n  rules:\n")
	b.WriteString("    - to attrs=userPassword by self write by anonymous auth by * none\n")
	b.WriteString("    - to * by users write by * read\n")
	b.WriteString("replication:\n  syncrepl:\n")
	for i, l := range item {
		if i == 0 {
			b.WriteString("    - " + l + "\n")
		} else {
			b.WriteString("      " + l + "\n")
		}
	}
	path := filepath.Join(t.TempDir(), "syncrepl.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// labelledMetric reads one series of the server's /metrics; ok is false
// when it is absent.
func labelledMetric(t *testing.T, s *testServer, series string) (float64, bool) {
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
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatalf("%s: %v", series, err)
	}
	return v, true
}

// wantRefused requires err to be unwillingToPerform naming the consumer.
func wantRefused(t *testing.T, what string, err error, name, provider string) {
	t.Helper()
	var le *goldap.Error
	if !errors.As(err, &le) || le.ResultCode != goldap.LDAPResultUnwillingToPerform {
		t.Fatalf("%s: got %v, want unwillingToPerform (53)", what, err)
	}
	want := "is a read-only copy of " + name + " (" + provider + ")"
	if !strings.Contains(le.Err.Error(), want) {
		t.Fatalf("%s: diagnostic %q does not say %q", what, le.Err, want)
	}
}

func TestSyncreplConsumerReadOnlyCopy(t *testing.T) {
	a := startServer(t, "")
	ac := dialRoot(t, a)
	addBase(t, ac)
	for i := range 5 {
		addPerson(t, ac, fmt.Sprintf("p%d", i))
	}
	local := "ou=partner," + testSuffix
	cfg := writableCopyConfig(t, "name: partner", "provider: "+a.URL, "bind_dn: "+testRootDN, "password: "+testRootPass,
		"search_base: ou=people,"+testSuffix, "scope: one", "local_base: "+local, "type: refreshAndPersist")
	b := startServer(t, "", "--config", cfg)
	bc := dialRoot(t, b)
	addBase(t, bc)
	// The base of a one-level copy is the administrator's to make.
	for _, ou := range []string{"partner", "staff"} {
		r := goldap.NewAddRequest("ou="+ou+","+testSuffix, nil)
		r.Attribute("objectClass", []string{"organizationalUnit"})
		r.Attribute("ou", []string{ou})
		if err := bc.Add(r); err != nil {
			t.Fatalf("adding ou=%s: %v", ou, err)
		}
	}
	clerk := "uid=clerk,ou=staff," + testSuffix
	for _, uid := range []string{"clerk", "mover"} {
		r := goldap.NewAddRequest("uid="+uid+",ou=staff,"+testSuffix, nil)
		r.Attribute("objectClass", []string{"inetOrgPerson"})
		r.Attribute("uid", []string{uid})
		r.Attribute("cn", []string{uid})
		r.Attribute("sn", []string{uid})
		r.Attribute("userPassword", []string{"clerk-secret"})
		if err := bc.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	waitStatus(t, b, time.Minute, "copied the people", func(st replication.SyncreplStatus) bool { return st.Entries == 5 })

	// The base entry of a one-level copy stays writable.
	m := goldap.NewModifyRequest(local, nil)
	m.Replace("description", []string{"imported from the partner"})
	if err := bc.Modify(m); err != nil {
		t.Fatalf("modifying the copy's own base: %v", err)
	}

	in := "uid=p1," + local
	for _, who := range []struct{ name, dn, pw string }{{"root", testRootDN, testRootPass}, {"clerk", clerk, "clerk-secret"}} {
		c := dialE2E(t, b, who.dn, who.pw)
		add := goldap.NewAddRequest("uid=new,"+local, nil)
		add.Attribute("objectClass", []string{"inetOrgPerson"})
		add.Attribute("uid", []string{"new"})
		add.Attribute("cn", []string{"new"})
		add.Attribute("sn", []string{"new"})
		wantRefused(t, who.name+" add", c.Add(add), "partner", a.URL)
		mod := goldap.NewModifyRequest(in, nil)
		mod.Replace("sn", []string{"Local"})
		wantRefused(t, who.name+" modify", c.Modify(mod), "partner", a.URL)
		wantRefused(t, who.name+" delete", c.Del(goldap.NewDelRequest(in, nil)), "partner", a.URL)
		wantRefused(t, who.name+" delete of the copy's base", c.Del(goldap.NewDelRequest(local, nil)), "partner", a.URL)
		wantRefused(t, who.name+" rename within", c.ModifyDN(goldap.NewModifyDNRequest(in, "uid=p1x", true, "")), "partner", a.URL)
		wantRefused(t, who.name+" move out", c.ModifyDN(goldap.NewModifyDNRequest(in, "uid=p1", true, "ou=staff,"+testSuffix)), "partner", a.URL)
		wantRefused(t, who.name+" move in", c.ModifyDN(goldap.NewModifyDNRequest("uid=mover,ou=staff,"+testSuffix, "uid=mover", true, local)), "partner", a.URL)
		wantRefused(t, who.name+" rename of the copy's base", c.ModifyDN(goldap.NewModifyDNRequest(local, "ou=partner2", true, "")), "partner", a.URL)

		// The same with ldap-utils.
		as := []string{"-D", who.dn, "-w", who.pw}
		for _, ldif := range []string{
			"dn: uid=new2," + local + "\nchangetype: add\nobjectClass: inetOrgPerson\nuid: new2\ncn: n\nsn: n\n",
			"dn: " + in + "\nchangetype: modify\nreplace: sn\nsn: Local\n-\n",
			"dn: " + in + "\nchangetype: delete\n",
			"dn: " + in + "\nchangetype: modrdn\nnewrdn: uid=p1y\ndeleteoldrdn: 1\n",
			"dn: uid=mover,ou=staff," + testSuffix + "\nchangetype: moddn\nnewrdn: uid=mover\ndeleteoldrdn: 1\nnewsuperior: " + local + "\n",
		} {
			out, code := b.ldapTool(t, ldif, "ldapmodify", as...)
			if code != 53 || !strings.Contains(out, "read-only copy of partner ("+a.URL+")") {
				t.Fatalf("ldapmodify as %s: exit %d, want 53 naming the consumer\n%s\ninput:\n%s", who.name, code, out, ldif)
			}
		}
	}

	// The copy is intact, and the provider's changes still arrive.
	mod := goldap.NewModifyRequest("uid=p1,ou=people,"+testSuffix, nil)
	mod.Replace("sn", []string{"FromProvider"})
	if err := ac.Modify(mod); err != nil {
		t.Fatal(err)
	}
	addPerson(t, ac, "p9")
	if err := ac.ModifyDN(goldap.NewModifyDNRequest("uid=p2,ou=people,"+testSuffix, "uid=p2r", true, "")); err != nil {
		t.Fatal(err)
	}
	if err := ac.Del(goldap.NewDelRequest("uid=p3,ou=people,"+testSuffix, nil)); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, b, 30*time.Second, "applied the provider's changes", func(st replication.SyncreplStatus) bool { return st.Entries == 5 && st.Applied >= 9 })
	res, err := bc.Search(goldap.NewSearchRequest(local, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"sn"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range res.Entries {
		got[strings.ToLower(e.DN)] = e.GetAttributeValue("sn")
	}
	want := map[string]string{"uid=p0," + local: "p0", "uid=p1," + local: "FromProvider", "uid=p2r," + local: "p2", "uid=p4," + local: "p4", "uid=p9," + local: "p9"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("copy after the provider's changes:\n got %v\nwant %v", got, want)
	}

	// The consumer's metrics.
	series := func(name string) float64 {
		t.Helper()
		v, ok := labelledMetric(t, b, name)
		if !ok {
			t.Fatalf("/metrics has no %s", name)
		}
		return v
	}
	if v := series(`switchboard_syncrepl_entries{consumer="partner"}`); v != 5 {
		t.Errorf("switchboard_syncrepl_entries = %v, want 5", v)
	}
	if v := series(`switchboard_syncrepl_applied_changes_total{consumer="partner"}`); v < float64(st.Applied) {
		t.Errorf("switchboard_syncrepl_applied_changes_total = %v, want >= %d", v, st.Applied)
	}
	// The consumer may have started before B's suffix existed: a failed
	// session, then a second full refresh. The metrics say what the
	// status says.
	st = syncreplStatus(t, b)
	if v := series(`switchboard_syncrepl_full_refreshes_total{consumer="partner"}`); v < 1 || v != float64(st.FullRefreshes) {
		t.Errorf("switchboard_syncrepl_full_refreshes_total = %v, want %d (>= 1)", v, st.FullRefreshes)
	}
	if v := series(`switchboard_syncrepl_errors_total{consumer="partner"}`); v != float64(st.Errors) {
		t.Errorf("switchboard_syncrepl_errors_total = %v, want %d", v, st.Errors)
	}
	if v := series(`switchboard_syncrepl_last_change_age_seconds{consumer="partner"}`); v < 0 || v > 60 {
		t.Errorf("switchboard_syncrepl_last_change_age_seconds = %v, want 0..60", v)
	}
	if v := series(`switchboard_syncrepl_state{consumer="partner",state="persisting"}`); v != 1 {
		t.Errorf(`switchboard_syncrepl_state{state="persisting"} = %v, want 1`, v)
	}
	if v := series(`switchboard_syncrepl_state{consumer="partner",state="retrying"}`); v != 0 {
		t.Errorf(`switchboard_syncrepl_state{state="retrying"} = %v, want 0`, v)
	}

	// Stopping the provider: the consumer's errors and state show it.
	a.Stop()
	waitStatus(t, b, 30*time.Second, "noticed the provider's end", func(st replication.SyncreplStatus) bool { return st.Errors > 0 })
	if v := series(`switchboard_syncrepl_errors_total{consumer="partner"}`); v < 1 {
		t.Errorf("switchboard_syncrepl_errors_total after the provider stopped = %v, want >= 1", v)
	}
	if v := series(`switchboard_syncrepl_state{consumer="partner",state="persisting"}`); v != 0 {
		t.Errorf(`switchboard_syncrepl_state{state="persisting"} after the provider stopped = %v, want 0`, v)
	}
}

func TestSyncreplConsumerReadOnlyReferral(t *testing.T) {
	a := startServer(t, "")
	ac := dialRoot(t, a)
	addBase(t, ac)
	for i := range 3 {
		addPerson(t, ac, fmt.Sprintf("p%d", i))
	}
	// The whole subtree, under the same DN: the copy's base is the
	// consumer's too.
	base := "ou=people," + testSuffix
	cfg := writableCopyConfig(t, "name: hq", "provider: "+a.URL, "bind_dn: "+testRootDN, "password: "+testRootPass,
		"search_base: "+base, "on_write: referral")
	b := startServer(t, "", "--config", cfg)
	bc := dialRoot(t, b)
	// The suffix entry only: ou=people is the consumer's to write.
	r := goldap.NewAddRequest(testSuffix, nil)
	r.Attribute("objectClass", []string{"top", "dcObject", "organization"})
	r.Attribute("dc", []string{"example"})
	r.Attribute("o", []string{"Example"})
	if err := bc.Add(r); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, b, time.Minute, "copied the people", func(st replication.SyncreplStatus) bool { return st.Entries == 4 })

	for _, target := range []string{"uid=p1," + base, base} {
		mod := goldap.NewModifyRequest(target, nil)
		mod.Replace("description", []string{"local"})
		err := bc.Modify(mod)
		var le *goldap.Error
		if !errors.As(err, &le) || le.ResultCode != goldap.LDAPResultReferral {
			t.Fatalf("modify %s: got %v, want referral (10)", target, err)
		}
		out, code := b.ldapTool(t, "dn: "+target+"\nchangetype: modify\nreplace: description\ndescription: local\n-\n", "ldapmodify")
		if code != 10 || !strings.Contains(out, a.URL) {
			t.Fatalf("ldapmodify %s: exit %d, want 10 with a referral to %s\n%s", target, code, a.URL, out)
		}
	}
	// Outside the copy, writes go on.
	r = goldap.NewAddRequest("ou=local,"+testSuffix, nil)
	r.Attribute("objectClass", []string{"organizationalUnit"})
	r.Attribute("ou", []string{"local"})
	if err := bc.Add(r); err != nil {
		t.Fatalf("add outside the copy: %v", err)
	}
	mod := goldap.NewModifyRequest("uid=p1,"+base, nil)
	mod.Replace("sn", []string{"FromProvider"})
	if err := ac.Modify(mod); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := bc.Search(goldap.NewSearchRequest("uid=p1,"+base, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"sn"}, nil))
		if err == nil && len(res.Entries) == 1 && res.Entries[0].GetAttributeValue("sn") == "FromProvider" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the provider's modify did not arrive: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
