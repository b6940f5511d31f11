package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// metric reads one unlabelled value from the server's /metrics.
func metric(t *testing.T, s *testServer, name string) float64 {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + s.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("/metrics has no %s", name)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// serverRSS returns the resident set of the server process, in MiB.
func serverRSS(s *testServer) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return -1
	}
	kb, _ := strconv.ParseFloat(string(m[1]), 64)
	return kb / 1024
}

// 10,000 idle connections held open do not stop a real client from
// getting correct answers quickly (bad input 19 of the research note).
func TestE2ETenThousandIdleConnections(t *testing.T) {
	const idle = 10000
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < idle+500 {
		lim.Cur = min(lim.Max, idle+2000)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < idle+500 {
			t.Skipf("cannot raise RLIMIT_NOFILE to %d (max %d): %v", idle+500, lim.Max, err)
		}
	}
	s := startServer(t, "", "--demo", "--limits.max-connections", "12000", "--limits.max-connections-per-ip", "-1")
	rssBefore := serverRSS(s)

	client, err := goldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	var lat []time.Duration
	query := func() {
		t.Helper()
		start := time.Now()
		res, err := client.Search(goldap.NewSearchRequest(testSuffix, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
			"(uid=rtaylor)", []string{"cn"}, nil))
		lat = append(lat, time.Since(start))
		if err != nil || len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("cn") != "Richard Taylor" {
			t.Fatalf("search during the flood: %v %+v", err, res)
		}
	}
	query()

	start := time.Now()
	conns := make([]net.Conn, 0, idle)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for len(conns) < idle {
		c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", len(conns)+1, err)
		}
		conns = append(conns, c)
		if len(conns)%500 == 0 {
			query() // the real client keeps being answered while they open
		}
	}
	opened := time.Since(start)
	deadline := time.Now().Add(20 * time.Second)
	for metric(t, s, "switchboard_ldap_open_connections") < idle+1 {
		if time.Now().After(deadline) {
			t.Fatalf("server holds %v connections, want %d", metric(t, s, "switchboard_ldap_open_connections"), idle+1)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for range 50 {
		query()
		time.Sleep(10 * time.Millisecond)
	}
	if out := e2eMustTool(t, s, 0, "", "ldapsearch", "-LLL", "-b", testSuffix, "(uid=rtaylor)", "cn"); !strings.Contains(out, "cn: Richard Taylor") {
		t.Errorf("ldapsearch with %d idle connections open: %q", idle, out)
	}
	// The idle connections are still served: a sample of them binds.
	for _, c := range []net.Conn{conns[0], conns[idle/2], conns[idle-1]} {
		lc := goldap.NewConn(c, false)
		lc.Start()
		if err := lc.UnauthenticatedBind(""); err != nil {
			t.Errorf("bind on an idle connection: %v", err)
		}
	}
	slices.Sort(lat)
	p99, worst := lat[len(lat)*99/100], lat[len(lat)-1]
	t.Logf("%d idle connections opened in %v; %d searches meanwhile: median %v, p99 %v, max %v; server RSS %.0f MiB before, %.0f MiB with them open",
		idle, opened.Round(time.Millisecond), len(lat), lat[len(lat)/2], p99, worst, rssBefore, serverRSS(s))
	if p99 > time.Second {
		t.Errorf("p99 search latency %v with %d idle connections", p99, idle)
	}
}

// The binary wires the abuse limits: a connection over
// limits.max_connections_per_ip gets busy, and failed binds past
// bind_throttle.after are answered late and counted in /metrics.
func TestE2EAbuseLimits(t *testing.T) {
	s := startServer(t, "", "--demo", "--limits.max-connections-per-ip", "3",
		"--bind-throttle.after", "2", "--bind-throttle.delay", "300ms", "--bind-throttle.max-delay", "300ms")
	// The harness's readiness probe counts against the limit until the
	// server has seen it close.
	for deadline := time.Now().Add(5 * time.Second); metric(t, s, "switchboard_ldap_open_connections") != 0; {
		if time.Now().After(deadline) {
			t.Fatal("the readiness probe's connection stays open")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var held []*goldap.Conn
	for range 3 {
		c, err := goldap.DialURL(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	// The fourth gets a Notice of Disconnection (messageID 0) with busy
	// (51: ENUMERATED 0a 01 33) and is closed.
	over, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	over.SetReadDeadline(time.Now().Add(5 * time.Second))
	notice, err := io.ReadAll(over)
	over.Close()
	if err != nil || !bytes.Contains(notice, []byte("1.3.6.1.4.1.1466.20036")) || !bytes.Contains(notice, []byte{0x0a, 0x01, 51}) {
		t.Errorf("fourth connection from one address: read %x, %v; want a busy notice, then EOF", notice, err)
	}
	c := held[0]
	for i := 1; i <= 3; i++ {
		start := time.Now()
		err := c.Bind("uid=rtaylor,ou=people,"+testSuffix, "wrong")
		d := time.Since(start)
		if !goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
			t.Fatalf("bind %d: %v", i, err)
		}
		if i == 3 && d < 300*time.Millisecond {
			t.Errorf("third failed bind answered after %v, want the 300ms throttle", d)
		}
	}
	if n := metric(t, s, "switchboard_bind_throttled_total"); n != 1 {
		t.Errorf("switchboard_bind_throttled_total = %v, want 1", n)
	}
}
