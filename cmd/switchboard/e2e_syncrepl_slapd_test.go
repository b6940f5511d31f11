package main

// OpenLDAP slapd as an RFC 4533 consumer of Switchboard: it mirrors N
// entries through M mixed changes (identical by entryUUID), and after a
// restart resumes from its cookie with the delete phase, not a full
// refresh. N and M default to 1,000 and 200; SWITCHBOARD_SYNC_ENTRIES and
// SWITCHBOARD_SYNC_CHANGES set them (10000 and 2000 for the acceptance
// run).

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// slapdConsumer is a slapd configured as a syncrepl consumer; it can be
// stopped and started again on the same database and port.
type slapdConsumer struct {
	t     *testing.T
	tools slapdTools
	conf  string
	addr  string
	srv   *slapdServer
}

func newSlapdConsumer(t *testing.T, tools slapdTools, extraSchema, provider string) *slapdConsumer {
	dir, db, conf := slapdConfig(t, tools, extraSchema)
	fmt.Fprintf(conf, `pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
loglevel sync
sizelimit unlimited
threads 4
database mdb
suffix "dc=example,dc=com"
rootdn "cn=admin,dc=example,dc=com"
rootpw secret
directory %[2]s
maxsize 1073741824
index objectClass eq
index entryUUID,entryCSN eq
syncrepl rid=001 provider=%[3]s type=refreshAndPersist searchbase="dc=example,dc=com"
  bindmethod=simple binddn="cn=admin,dc=example,dc=com" credentials=secret
  attrs="*,+" retry="1 +" timeout=5
`, dir, db, provider)
	path := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(path, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tools.slaptest, "-f", path, "-u").CombinedOutput(); err != nil {
		t.Fatalf("slaptest: %v\n%s\n%s", err, out, conf.String())
	}
	return &slapdConsumer{t: t, tools: tools, conf: path, addr: freePort(t)}
}

func (c *slapdConsumer) start() {
	t := c.t
	s := &slapdServer{URL: "ldap://" + c.addr, done: make(chan struct{}), log: c.conf + ".log"}
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	s.cmd = exec.Command(c.tools.slapd, "-f", c.conf, "-h", s.URL+"/", "-d", "16384")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.stop)
	c.srv = s
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if conn, err := goldap.DialURL(s.URL); err == nil {
			conn.Close()
			return
		}
	}
	t.Fatalf("slapd consumer did not start:\n%s", s.output())
}

// snapshot reads every entry below the suffix: entryUUID -> DN and user
// attributes plus entryCSN, canonically ordered.
func snapshot(t *testing.T, url, pw string) map[string]string {
	t.Helper()
	c, err := goldap.DialURL(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(testRootDN, pw); err != nil {
		t.Fatal(err)
	}
	res, err := c.SearchWithPaging(goldap.NewSearchRequest(testSuffix, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"*", "entryUUID", "entryCSN"}, nil), 1000)
	if err != nil {
		t.Fatalf("snapshot of %s: %v", url, err)
	}
	out := make(map[string]string, len(res.Entries))
	for _, e := range res.Entries {
		var b strings.Builder
		b.WriteString(e.DN)
		var attrs []string
		for _, a := range e.Attributes {
			if strings.EqualFold(a.Name, "entryUUID") {
				continue
			}
			vals := slices.Clone(a.Values)
			slices.Sort(vals)
			attrs = append(attrs, strings.ToLower(a.Name)+"="+strings.Join(vals, "|"))
		}
		slices.Sort(attrs)
		b.WriteString("\n" + strings.Join(attrs, "\n"))
		out[e.GetAttributeValue("entryUUID")] = b.String()
	}
	return out
}

func contextCSN(t *testing.T, url string) []string {
	c, err := goldap.DialURL(url)
	if err != nil {
		return nil
	}
	defer c.Close()
	res, err := c.Search(goldap.NewSearchRequest(testSuffix, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"contextCSN"}, nil))
	if err != nil || len(res.Entries) != 1 {
		return nil
	}
	v := res.Entries[0].GetAttributeValues("contextCSN")
	slices.Sort(v)
	return v
}

// waitSynced waits until slapd's contextCSN equals Switchboard's.
func waitSynced(t *testing.T, sb *testServer, consumer *slapdConsumer, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	want := contextCSN(t, sb.URL)
	for time.Since(start) < limit && consumer.srv.cmd.ProcessState == nil {
		if got := contextCSN(t, consumer.srv.URL); len(want) > 0 && slices.Equal(got, want) {
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("slapd did not reach contextCSN %v in %s (has %v); slapd log:\n%s", want, limit, contextCSN(t, consumer.srv.URL), tail(consumer.srv.output(), 3000))
	return 0
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func compareMirrors(t *testing.T, sb *testServer, consumer *slapdConsumer) int {
	t.Helper()
	a, b := snapshot(t, sb.URL, testRootPass), snapshot(t, consumer.srv.URL, "secret")
	bad := 0
	for u, ea := range a {
		if eb, ok := b[u]; !ok || ea != eb {
			if bad++; bad <= 3 {
				t.Errorf("entryUUID %s differs:\nswitchboard:\n%s\nslapd:\n%s", u, ea, eb)
			}
		}
	}
	for u, eb := range b {
		if _, ok := a[u]; !ok {
			if bad++; bad <= 6 {
				t.Errorf("entryUUID %s only on slapd:\n%s", u, eb)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d entries differ (switchboard %d, slapd %d)", bad, len(a), len(b))
	}
	return len(a)
}

// mutate applies n mixed changes, cycling modify, add, modrdn, delete,
// over the people p0..p(n-1) and new entries; seq keeps names unique
// across calls.
func mutate(t *testing.T, c *goldap.Conn, people int, n int, seq *int) {
	t.Helper()
	for i := 0; i < n; i++ {
		k := *seq
		*seq++
		target := fmt.Sprintf("uid=p%d,ou=people,%s", k%people, testSuffix)
		var err error
		switch k % 4 {
		case 0:
			m := goldap.NewModifyRequest(target, nil)
			m.Replace("description", []string{fmt.Sprintf("change %d", k)})
			m.Add("mail", []string{fmt.Sprintf("c%d@example.com", k)})
			err = c.Modify(m)
		case 1:
			a := goldap.NewAddRequest(fmt.Sprintf("uid=n%d,ou=people,%s", k, testSuffix), nil)
			a.Attribute("objectClass", []string{"inetOrgPerson"})
			a.Attribute("uid", []string{fmt.Sprintf("n%d", k)})
			a.Attribute("cn", []string{fmt.Sprintf("New %d", k)})
			a.Attribute("sn", []string{"New"})
			err = c.Add(a)
		case 2:
			err = c.ModifyDN(goldap.NewModifyDNRequest(target, fmt.Sprintf("uid=r%d", k), true, ""))
		case 3:
			err = c.Del(goldap.NewDelRequest(target, nil))
		}
		if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			t.Fatalf("change %d on %s: %v", k, target, err)
		}
	}
}

var refreshLine = regexp.MustCompile(`syncprov: refresh.*phase=(\w+) entries=(\d+) deleted=(\d+).*`)

func TestSyncreplSlapdConsumer(t *testing.T) {
	tools, reason, ok := findSlapd()
	if !ok {
		t.Skip(reason)
	}
	if testing.Short() {
		t.Skip("slapd consumer test in -short mode")
	}
	entries := envInt("SWITCHBOARD_SYNC_ENTRIES", 1000)
	changes := envInt("SWITCHBOARD_SYNC_CHANGES", 200)
	extraSchema, err := filepath.Abs(filepath.Join("..", "..", "testdata", "differential", "rfc2307bis-mozilla.schema"))
	if err != nil {
		t.Fatal(err)
	}
	sb := startServer(t, "", "--log.level", "info")
	c := dialRoot(t, sb)
	addBase(t, c)

	// Load N entries over 4 connections.
	t0 := time.Now()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wc := dialRoot(t, sb)
			for i := w; i < entries; i += 4 {
				addPerson(t, wc, fmt.Sprintf("p%d", i))
			}
		}()
	}
	wg.Wait()
	load := time.Since(t0)

	consumer := newSlapdConsumer(t, tools, extraSchema, sb.URL)
	t0 = time.Now()
	consumer.start()
	initial := waitSynced(t, sb, consumer, 2*time.Minute)
	initial += time.Since(t0) - initial
	n := compareMirrors(t, sb, consumer)
	t.Logf("loaded %d entries in %s; slapd's initial refresh converged in %s", n, load.Round(time.Millisecond), initial.Round(time.Millisecond))

	// Mixed changes while slapd persists.
	seq := 0
	t0 = time.Now()
	mutate(t, c, entries, changes, &seq)
	apply := time.Since(t0)
	conv := waitSynced(t, sb, consumer, 2*time.Minute)
	n = compareMirrors(t, sb, consumer)
	t.Logf("%d mixed changes applied in %s; slapd converged %s later; %d entries identical by entryUUID", changes, apply.Round(time.Millisecond), conv.Round(time.Millisecond), n)

	// Restart: changes made while slapd is down arrive by the delete
	// phase from its cookie, not by a full refresh.
	consumer.srv.stop()
	down := max(changes/10, 8)
	mutate(t, c, entries, down, &seq)
	before := len(refreshLine.FindAllStringSubmatch(sb.Log(), -1))
	t0 = time.Now()
	consumer.start()
	waitSynced(t, sb, consumer, 2*time.Minute)
	resume := time.Since(t0)
	n = compareMirrors(t, sb, consumer)
	lines := refreshLine.FindAllStringSubmatch(sb.Log(), -1)
	if len(lines) <= before {
		t.Fatalf("no refresh logged after the restart; log:\n%s", tail(sb.Log(), 3000))
	}
	last := lines[len(lines)-1]
	sent, _ := strconv.Atoi(last[2])
	deleted, _ := strconv.Atoi(last[3])
	if last[1] != "delete" || sent+deleted > down {
		t.Errorf("after the restart the refresh was %s with %d entries and %d deletes; want the delete phase with at most %d\n%s", last[1], sent, deleted, down, last[0])
	}
	t.Logf("restart: %d changes made while down; slapd resumed from its cookie (%s phase, %d entries, %d deletes sent) in %s; %d entries identical",
		down, last[1], sent, deleted, resume.Round(time.Millisecond), n)
}
