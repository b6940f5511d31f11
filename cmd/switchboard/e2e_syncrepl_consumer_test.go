package main

// Switchboard as an RFC 4533 consumer (replication.syncrepl): of OpenLDAP
// slapd with syncprov, and of another Switchboard. The slapd test loads N
// entries (SWITCHBOARD_SYNCREPL_ENTRIES, default 2,000; 100,000 is the
// acceptance figure) and makes M changes (SWITCHBOARD_SYNCREPL_CHANGES,
// default 1,000) in refreshAndPersist mode, comparing both trees by
// entryUUID after each step.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/replication"
)

// writePeopleLDIF writes the suffix, ou=people, ou=groups, n people
// p0..p(n-1) and ten groups of ten members each.
func writePeopleLDIF(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "people.ldif")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "dn: %s\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n", testSuffix)
	for _, ou := range []string{"people", "groups"} {
		fmt.Fprintf(w, "dn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n\n", ou, testSuffix, ou)
	}
	for i := range n {
		fmt.Fprintf(w, "dn: uid=p%d,ou=people,%s\nobjectClass: inetOrgPerson\nuid: p%d\ncn: Person %d\nsn: P%d\nmail: p%d@example.com\ndescription: person number %d\n\n",
			i, testSuffix, i, i, i, i, i)
	}
	for g := range 10 {
		fmt.Fprintf(w, "dn: cn=g%d,ou=groups,%s\nobjectClass: groupOfNames\ncn: g%d\n", g, testSuffix, g)
		for m := range min(10, n) {
			fmt.Fprintf(w, "member: uid=p%d,ou=people,%s\n", (g*10+m)%n, testSuffix)
		}
		fmt.Fprintln(w)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

// startSyncprovSlapd starts slapd with the syncprov overlay over ldifPath;
// with a session log, a refresh from a cookie is a delete phase,
// without one a present phase.
func startSyncprovSlapd(t *testing.T, tools slapdTools, ldifPath string, sessionLog bool) *slapdServer {
	t.Helper()
	extraSchema, err := filepath.Abs(filepath.Join("..", "..", "testdata", "differential", "rfc2307bis-mozilla.schema"))
	if err != nil {
		t.Fatal(err)
	}
	dir, db, conf := slapdConfig(t, tools, extraSchema, "syncprov")
	fmt.Fprintf(conf, `pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
loglevel 0
sizelimit unlimited
threads 4
tool-threads 1
database mdb
suffix "dc=example,dc=com"
rootdn "cn=admin,dc=example,dc=com"
rootpw secret
directory %[2]s
maxsize 2147483648
index objectClass eq
index entryUUID,entryCSN eq
index uid eq
access to * by * read
overlay syncprov
syncprov-checkpoint 100 1
`, dir, db)
	if sessionLog {
		conf.WriteString("syncprov-sessionlog 100000\n")
	}
	confPath := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tools.slaptest, "-f", confPath, "-u").CombinedOutput(); err != nil {
		t.Fatalf("slaptest: %v\n%s\n%s", err, out, conf.String())
	}
	if out, err := exec.Command(tools.slapadd, "-q", "-f", confPath, "-l", ldifPath).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	addr := freePort(t)
	s := &slapdServer{URL: "ldap://" + addr, done: make(chan struct{}), log: filepath.Join(dir, "slapd.log")}
	logf, err := os.Create(s.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	s.cmd = exec.Command(tools.slapd, "-f", confPath, "-h", s.URL+"/", "-d", "0")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.stop)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("slapd exited: %v\n%s", s.cmd.ProcessState, s.output())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("slapd did not listen on %s:\n%s", addr, s.output())
	return nil
}

// syncreplServerConfig writes a configuration with the open read access
// of the end-to-end tests and one replication.syncrepl entry made of the
// given YAML lines (indented under the list item).
func syncreplServerConfig(t *testing.T, item ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(openReadAccess)
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

// syncreplStatus reads the consumer's status from the admin API.
func syncreplStatus(t *testing.T, s *testServer) replication.SyncreplStatus {
	t.Helper()
	resp, err := adminDo("GET", "http://"+s.Admin+"/api/v1/syncrepl")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st []replication.SyncreplStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || len(st) != 1 {
		t.Fatalf("GET /api/v1/syncrepl: status %d, %v, %d consumers", resp.StatusCode, err, len(st))
	}
	return st[0]
}

// waitStatus polls the status until ok holds.
func waitStatus(t *testing.T, s *testServer, limit time.Duration, what string, ok func(replication.SyncreplStatus) bool) replication.SyncreplStatus {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		st := syncreplStatus(t, s)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer never %s; status %+v\nlog:\n%s", what, st, tail(s.Log(), 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// diffTrees compares the subtrees of two servers by entryUUID (DN, user
// attributes and entryCSN) and returns a description of the first
// differences, "" when they are identical.
func diffTrees(t *testing.T, a, b string) (string, int) {
	t.Helper()
	sa, sb := snapshot(t, a, "secret"), snapshot(t, b, "secret")
	var diffs []string
	for u, ea := range sa {
		if eb, ok := sb[u]; !ok || ea != eb {
			diffs = append(diffs, fmt.Sprintf("entryUUID %s:\n%s:\n%s\n%s:\n%s", u, a, ea, b, eb))
		}
	}
	for u, eb := range sb {
		if _, ok := sa[u]; !ok {
			diffs = append(diffs, fmt.Sprintf("entryUUID %s only on %s:\n%s", u, b, eb))
		}
	}
	if len(diffs) > 0 {
		return fmt.Sprintf("%d differences (%d and %d entries), first:\n%s", len(diffs), len(sa), len(sb), strings.Join(diffs[:min(3, len(diffs))], "\n")), 0
	}
	return "", len(sa)
}

// waitIdentical waits until the trees of a and b are identical.
func waitIdentical(t *testing.T, a, b string, limit time.Duration) (time.Duration, int) {
	t.Helper()
	start := time.Now()
	for {
		d, n := diffTrees(t, a, b)
		if d == "" {
			return time.Since(start), n
		}
		if time.Since(start) > limit {
			t.Fatalf("trees still differ after %s: %s", limit, d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cpuTime is the CPU time (user and system) the server process has used
// so far, from /proc ("?" where there is none): on a loaded machine a
// fairer figure than the wall clock.
func cpuTime(s *testServer) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return "?"
	}
	// Fields after the command name (in parentheses): state is 3rd,
	// utime the 14th and stime the 15th of the whole line.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return "?"
	}
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return (time.Duration(ut+st) * 10 * time.Millisecond).String() // USER_HZ is 100 on Linux
}

func dialSlapd(t *testing.T, url string) *goldap.Conn {
	t.Helper()
	c, err := goldap.DialURL(url)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Bind(testRootDN, "secret"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestSyncreplConsumerOfSlapd: a full refresh of N entries, M mixed
// changes in refreshAndPersist mode, a restart and a kill -9 that resume
// from the stored cookie, each checked by comparing both trees.
func TestSyncreplConsumerOfSlapd(t *testing.T) {
	tools, reason, ok := findSlapd()
	if !ok {
		t.Skip(reason)
	}
	if testing.Short() {
		t.Skip("slapd provider test in -short mode")
	}
	entries := envInt("SWITCHBOARD_SYNCREPL_ENTRIES", 2000)
	changes := envInt("SWITCHBOARD_SYNCREPL_CHANGES", 1000)
	prov := startSyncprovSlapd(t, tools, writePeopleLDIF(t, entries), true)
	pc := dialSlapd(t, prov.URL)

	cfg := syncreplServerConfig(t, "name: slapd", "provider: "+prov.URL, "bind_dn: "+testRootDN, "password: secret",
		"search_base: "+testSuffix, "type: refreshAndPersist", "retry_min: 200ms", "retry_max: 2s")
	binary(t) // built before the clock starts
	t0 := time.Now()
	sb := startServer(t, "", "--config", cfg, "--log.level", "info")
	total := entries + 13
	st := waitStatus(t, sb, 10*time.Minute, "finished the refresh", func(st replication.SyncreplStatus) bool {
		return st.State == replication.SyncreplPersisting && st.Entries == total
	})
	refresh := time.Since(t0)
	_, n := waitIdentical(t, prov.URL, sb.URL, 30*time.Second)
	if st.FullRefreshes != 1 || n != total {
		t.Fatalf("after the refresh: %d full refreshes, %d entries identical; want 1 and %d", st.FullRefreshes, n, total)
	}
	t.Logf("full refresh of %d entries (server start included): %s, %s of CPU in the consumer", n, refresh.Round(time.Millisecond), cpuTime(sb))

	seq := 0
	t0 = time.Now()
	mutate(t, pc, entries, changes, &seq)
	made := time.Since(t0)
	conv, n := waitIdentical(t, prov.URL, sb.URL, 2*time.Minute)
	t.Logf("%d mixed changes made at slapd in %s; identical %s later (%d entries)", changes, made.Round(time.Millisecond), conv.Round(time.Millisecond), n)

	// A restart resumes from the stored cookie: the changes made while
	// the consumer was down arrive, and no full refresh happens.
	for _, kill := range []bool{false, true} {
		if kill {
			// Changes still arriving when the consumer dies.
			mutate(t, pc, entries, 40, &seq)
			sb.Kill()
		} else {
			sb.Stop()
		}
		down := 40
		mutate(t, pc, entries, down, &seq)
		sb.start()
		st := waitStatus(t, sb, time.Minute, "resumed", func(st replication.SyncreplStatus) bool {
			return st.State == replication.SyncreplPersisting
		})
		_, n := waitIdentical(t, prov.URL, sb.URL, time.Minute)
		st = syncreplStatus(t, sb)
		if st.FullRefreshes != 0 || st.Applied > int64(2*down+40) {
			t.Fatalf("after a restart (kill %v): %d full refreshes and %d entries applied; want 0 and at most %d", kill, st.FullRefreshes, st.Applied, 2*down+40)
		}
		t.Logf("restart (kill -9: %v): resumed from the cookie, %d entries applied, %d identical", kill, st.Applied, n)
	}
}

// TestSyncreplConsumerRefreshOnly: polling with refreshOnly against a
// provider without a session log (present phases): changes, deletions
// among them, arrive at the next poll.
func TestSyncreplConsumerRefreshOnly(t *testing.T) {
	tools, reason, ok := findSlapd()
	if !ok {
		t.Skip(reason)
	}
	const entries = 200
	prov := startSyncprovSlapd(t, tools, writePeopleLDIF(t, entries), false)
	pc := dialSlapd(t, prov.URL)
	cfg := syncreplServerConfig(t, "name: poll", "provider: "+prov.URL, "bind_dn: "+testRootDN, "password: secret",
		"search_base: "+testSuffix, "type: refreshOnly", "interval: 300ms")
	sb := startServer(t, "", "--config", cfg)
	waitStatus(t, sb, time.Minute, "polled", func(st replication.SyncreplStatus) bool { return st.Refreshes >= 1 })
	waitIdentical(t, prov.URL, sb.URL, 30*time.Second)
	seq := 0
	mutate(t, pc, entries, 100, &seq)
	_, n := waitIdentical(t, prov.URL, sb.URL, 30*time.Second)
	st := syncreplStatus(t, sb)
	if st.FullRefreshes != 1 || st.Refreshes < 2 || st.State == replication.SyncreplPersisting {
		t.Fatalf("refreshOnly status %+v: want one full refresh, several refreshes, never persisting", st)
	}
	t.Logf("refreshOnly: %d entries identical after %d polls", n, st.Refreshes)
}

// TestSyncreplConsumerOfSwitchboard: one Switchboard consumes another's
// ou=people (scope one, a filter, an attribute allow-list) into a
// different local subtree: DNs and member values are rewritten.
func TestSyncreplConsumerOfSwitchboard(t *testing.T) {
	a := startServer(t, "")
	ac := dialRoot(t, a)
	addBase(t, ac)
	for i := range 20 {
		addPerson(t, ac, fmt.Sprintf("p%d", i))
	}
	g := goldap.NewAddRequest("cn=staff,ou=people,"+testSuffix, nil)
	g.Attribute("objectClass", []string{"groupOfNames"})
	g.Attribute("cn", []string{"staff"})
	g.Attribute("member", []string{"uid=p1,ou=people," + testSuffix, "uid=p2,ou=people," + testSuffix, "cn=outside,dc=elsewhere"})
	if err := ac.Add(g); err != nil {
		t.Fatal(err)
	}
	local := "ou=partner,dc=example,dc=com"
	cfg := syncreplServerConfig(t, "name: partner", "provider: "+a.URL, "bind_dn: "+testRootDN, "password: "+testRootPass,
		"search_base: ou=people,"+testSuffix, "scope: one", "filter: (|(objectClass=inetOrgPerson)(objectClass=groupOfNames))",
		"attributes: [cn, sn, uid, member]", "local_base: "+local, "type: refreshAndPersist")
	b := startServer(t, "", "--config", cfg)
	bc := dialRoot(t, b)
	addBase(t, bc)
	addOU(t, bc, local)
	waitStatus(t, b, time.Minute, "copied the people", func(st replication.SyncreplStatus) bool { return st.Entries == 21 })

	// The replicated changes reach B's own change feed: a sync search on
	// B in persist mode sees the modify made at A.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feed := dialRoot(t, b).Syncrepl(ctx, goldap.NewSearchRequest(local, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(uid=p3)", []string{"sn"}, nil), 16, goldap.SyncRequestModeRefreshAndPersist, nil, false)
	seen := make(chan string, 16)
	go func() {
		for feed.Next() {
			if e := feed.Entry(); e != nil {
				seen <- e.GetAttributeValue("sn")
			}
		}
		close(seen)
	}()

	m := goldap.NewModifyRequest("uid=p3,ou=people,"+testSuffix, nil)
	m.Replace("sn", []string{"Changed"})
	m.Replace("description", []string{"not shared"})
	if err := ac.Modify(m); err != nil {
		t.Fatal(err)
	}
	if err := ac.ModifyDN(goldap.NewModifyDNRequest("uid=p4,ou=people,"+testSuffix, "uid=p4r", true, "")); err != nil {
		t.Fatal(err)
	}
	if err := ac.Del(goldap.NewDelRequest("uid=p5,ou=people,"+testSuffix, nil)); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, b, 30*time.Second, "applied the changes", func(st replication.SyncreplStatus) bool { return st.Entries == 20 && st.Applied >= 24 })
	for timeout := time.After(10 * time.Second); ; {
		select {
		case sn, ok := <-seen:
			if !ok {
				t.Fatalf("B's sync search ended: %v", feed.Err())
			}
			if sn != "Changed" {
				continue
			}
		case <-timeout:
			t.Fatal("B's sync search did not see the replicated modify of p3")
		}
		break
	}
	cancel()
	var got *goldap.SearchResult
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		got, err = bc.Search(goldap.NewSearchRequest(local, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
			"(|(uid=p3)(uid=p4r)(uid=p5)(cn=staff))", []string{"*", "entryUUID"}, nil))
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Entries) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("want p3, p4r and staff under %s, got %d entries", local, len(got.Entries))
		}
		time.Sleep(100 * time.Millisecond)
	}
	src, err := ac.Search(goldap.NewSearchRequest("ou=people,"+testSuffix, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(|(uid=p3)(uid=p4r)(cn=staff))", []string{"entryUUID"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	uuids := map[string]string{}
	for _, e := range src.Entries {
		uuids[strings.Replace(e.DN, "ou=people,"+testSuffix, local, 1)] = e.GetAttributeValue("entryUUID")
	}
	for _, e := range got.Entries {
		if uuids[e.DN] == "" || uuids[e.DN] != e.GetAttributeValue("entryUUID") {
			t.Errorf("%s: entryUUID %q, want the provider's %q", e.DN, e.GetAttributeValue("entryUUID"), uuids[e.DN])
		}
		if e.GetAttributeValue("description") != "" {
			t.Errorf("%s: description copied although not in the allow-list", e.DN)
		}
		switch e.GetAttributeValue("cn") {
		case "staff":
			want := "uid=p1," + local + "|uid=p2," + local + "|cn=outside,dc=elsewhere"
			if got := strings.Join(e.GetAttributeValues("member"), "|"); got != want {
				t.Errorf("member: %s, want %s", got, want)
			}
		case "Person p3":
			if e.GetAttributeValue("sn") != "Changed" {
				t.Errorf("p3: sn %q, want Changed", e.GetAttributeValue("sn"))
			}
		}
	}
}

// TestSyncreplConsumerProviderFailures: a provider that is down, then one
// that refuses the bind, show in the status with the reason, and the
// consumer retries with back-off (not in a tight loop).
func TestSyncreplConsumerProviderFailures(t *testing.T) {
	down := "ldap://" + freePort(t)
	cfg := syncreplServerConfig(t, "name: down", "provider: "+down, "bind_dn: "+testRootDN, "password: secret",
		"search_base: "+testSuffix, "retry_min: 100ms", "retry_max: 400ms")
	sb := startServer(t, "", "--config", cfg)
	time.Sleep(3 * time.Second)
	st := syncreplStatus(t, sb)
	if st.State != replication.SyncreplRetrying || !strings.Contains(st.LastError, "connecting to "+down) {
		t.Fatalf("provider down: status %+v", st)
	}
	// Back-off 100, 200, 400, 400...: about 8 attempts in 3 s, not 30.
	if st.Retries < 3 || st.Retries > 14 {
		t.Fatalf("provider down: %d attempts in 3 s; want back-off between 100 ms and 400 ms", st.Retries)
	}

	a := startServer(t, "")
	addBase(t, dialRoot(t, a))
	cfg = syncreplServerConfig(t, "name: badbind", "provider: "+a.URL, "bind_dn: "+testRootDN, "password: wrong",
		"search_base: "+testSuffix, "retry_min: 100ms", "retry_max: 400ms")
	b := startServer(t, "", "--config", cfg)
	st = waitStatus(t, b, 10*time.Second, "reported the refused bind", func(st replication.SyncreplStatus) bool { return st.Retries >= 2 })
	if st.State != replication.SyncreplRetrying || !strings.Contains(st.LastError, "Invalid Credentials") || st.Entries != 0 {
		t.Fatalf("bind refused: status %+v", st)
	}
}

// TestSyncreplConsumerRefreshRequired: a provider whose changelog no
// longer covers the consumer's cookie answers e-syncRefreshRequired; the
// consumer drops the cookie and refreshes in full, which also removes
// the entries deleted while it was away. (The consumer binds as a plain
// reader: the root DN's position would hold the changelog back.)
func TestSyncreplConsumerRefreshRequired(t *testing.T) {
	provCfg := filepath.Join(t.TempDir(), "provider.yaml")
	if err := os.WriteFile(provCfg, []byte(openReadAccess+"replication:\n  changelog:\n    max_entries: 10\n    trim_interval: 100ms\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startServer(t, "", "--config", provCfg)
	ac := dialRoot(t, a)
	addBase(t, ac)
	reader := goldap.NewAddRequest("cn=reader,"+testSuffix, nil)
	reader.Attribute("objectClass", []string{"person"})
	reader.Attribute("cn", []string{"reader"})
	reader.Attribute("sn", []string{"reader"})
	reader.Attribute("userPassword", []string{"readerpw"})
	if err := ac.Add(reader); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		addPerson(t, ac, fmt.Sprintf("p%d", i))
	}
	people := "ou=people," + testSuffix
	cfg := syncreplServerConfig(t, "name: trimmed", "provider: "+a.URL, "bind_dn: cn=reader,"+testSuffix, "password: readerpw",
		"search_base: "+people, "retry_min: 100ms")
	b := startServer(t, "", "--config", cfg)
	suffix := goldap.NewAddRequest(testSuffix, nil)
	suffix.Attribute("objectClass", []string{"top", "dcObject", "organization"})
	suffix.Attribute("dc", []string{"example"})
	suffix.Attribute("o", []string{"Example"})
	if err := dialRoot(t, b).Add(suffix); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, b, 30*time.Second, "copied the provider", func(st replication.SyncreplStatus) bool {
		return st.State == replication.SyncreplPersisting && st.Entries == 31
	})
	b.Stop()
	for i := range 20 {
		if err := ac.Del(goldap.NewDelRequest(fmt.Sprintf("uid=p%d,%s", i, people), nil)); err != nil {
			t.Fatal(err)
		}
		addPerson(t, ac, fmt.Sprintf("q%d", i))
	}
	time.Sleep(time.Second) // the provider trims its changelog to 10 records
	b.start()
	st := waitStatus(t, b, 30*time.Second, "refreshed again", func(st replication.SyncreplStatus) bool {
		return st.State == replication.SyncreplPersisting && st.Refreshes >= 1
	})
	if st.FullRefreshes != 1 || st.Entries != 31 {
		t.Fatalf("after the trimmed changelog: %d full refreshes and %d entries, want 1 and 31 (status %+v)", st.FullRefreshes, st.Entries, st)
	}
	if !strings.Contains(b.Log(), "full refresh") {
		t.Errorf("no e-syncRefreshRequired logged:\n%s", tail(b.Log(), 2000))
	}
	bc := dialRoot(t, b)
	res, err := bc.Search(goldap.NewSearchRequest(people, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=inetOrgPerson)", []string{"uid"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for _, e := range res.Entries {
		uids = append(uids, e.GetAttributeValue("uid"))
	}
	slices.Sort(uids)
	want := []string{}
	for i := range 20 {
		want = append(want, fmt.Sprintf("q%d", i))
	}
	for i := 20; i < 30; i++ {
		want = append(want, fmt.Sprintf("p%d", i))
	}
	slices.Sort(want)
	if !slices.Equal(uids, want) {
		t.Fatalf("people after the full refresh: %v, want %v", uids, want)
	}
}
