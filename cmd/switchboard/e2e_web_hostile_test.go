package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// slowClient opens a connection to addr from the local address from and
// starts a request whose headers it then trickles, a line a second, as a
// slowloris attack does. closed is closed when the server closes the
// connection (a read ends in anything but a timeout), at at.
type slowClient struct {
	conn   net.Conn
	closed chan struct{}
	at     time.Time // when the server closed it
}

func startSlowClient(t *testing.T, from, addr string) *slowClient {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	sc := &slowClient{conn: c, closed: make(chan struct{})}
	go func() {
		buf := make([]byte, 512)
		for {
			_, err := c.Read(buf)
			var ne net.Error
			if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
				sc.at = time.Now()
				close(sc.closed)
				return
			}
		}
	}()
	go func() {
		c.Write([]byte("GET /login HTTP/1.1\r\nHost: x\r\n"))
		for {
			select {
			case <-sc.closed:
				return
			case <-time.After(time.Second):
			}
			if _, err := c.Write([]byte("X-Slow: 1\r\n")); err != nil {
				return
			}
		}
	}()
	return sc
}

// TestWebSlowloris: clients trickling their headers from one address hold
// at most http.max_connections_per_ip connections of the public HTTP
// listener (the others are closed at once), so a client from another
// address is still served although they try to open
// http.max_connections; and the server closes each trickling connection
// once the header timeout (10 s) has passed.
func TestWebSlowloris(t *testing.T) {
	s := startServer(t, "", "--http.max-connections", "12", "--http.max-connections-per-ip", "4")
	start := time.Now()
	var slow []*slowClient
	for range 12 {
		slow = append(slow, startSlowClient(t, "127.0.0.1", s.HTTP))
	}
	time.Sleep(300 * time.Millisecond)
	held := 0
	for _, c := range slow {
		select {
		case <-c.closed:
		default:
			held++
		}
	}
	if held != 4 {
		t.Errorf("%d trickling connections from one address held, want http.max_connections_per_ip (4)", held)
	}
	// Another address is served at once.
	cl := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DialContext: (&net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}}
	resp, err := cl.Get("http://" + s.HTTP + "/login")
	if err != nil {
		t.Fatalf("a client from another address while one address trickles: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /login from another address: %d", resp.StatusCode)
	}
	// The held ones are cut off after the header timeout, not kept alive
	// by the trickle.
	for _, c := range slow {
		select {
		case <-c.closed:
		case <-time.After(time.Until(start.Add(15 * time.Second))):
			t.Fatal("a trickling connection is still open 15 s after it began")
		}
		if d := c.at.Sub(start); d > 300*time.Millisecond && (d < 9*time.Second || d > 13*time.Second) {
			t.Errorf("a held trickling connection was closed after %v, want the 10 s header timeout", d)
		}
	}
	// The server is still there for the first address too.
	resp, err = (&http.Client{Timeout: 3 * time.Second}).Get("http://" + s.HTTP + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// TestWebBasicBruteForce: guessing passwords with HTTP Basic on the web
// listener meets the LDAP failed-bind throttle (the pipe carries the
// client's address) and the password policy's lockout; every failure,
// for an existing user, a missing one or a locked account given its
// right password, gets the same 401, so the answers do not tell which
// names exist.
func TestWebBasicBruteForce(t *testing.T) {
	s := startServer(t, "", "--overlays.ppolicy.enabled=true", "--overlays.ppolicy.default="+ppolicyDefault,
		"--passwords.scheme=ssha512", "--bind-throttle.after=3", "--bind-throttle.delay=200ms",
		"--bind-throttle.max-delay=400ms")
	ldif := "dn: " + testSuffix + "\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n" +
		"dn: ou=policies," + testSuffix + "\nobjectClass: organizationalUnit\nou: policies\n\n" +
		"dn: " + ppolicyDefault + "\nobjectClass: organizationalRole\nobjectClass: pwdPolicy\ncn: default\n" +
		"pwdAttribute: userPassword\npwdLockout: TRUE\npwdMaxFailure: 3\npwdLockoutDuration: 3600\n\n" +
		"dn: ou=people," + testSuffix + "\nobjectClass: organizationalUnit\nou: people\n\n"
	for _, u := range []string{"alice", "bob"} {
		ldif += "dn: uid=" + u + ",ou=people," + testSuffix + "\nobjectClass: inetOrgPerson\nuid: " + u +
			"\ncn: " + u + "\nsn: " + u + "\nuserPassword: " + u + "-pw\n\n"
	}
	if out, code := s.ldapTool(t, ldif, "ldapadd"); code != 0 {
		t.Fatalf("ldapadd: %d\n%s", code, out)
	}
	type answer struct {
		status    int
		challenge string
		body      string
		took      time.Duration
	}
	try := func(from, user, pw string) answer {
		t.Helper()
		cl := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: (&net.Dialer{
			LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext}}
		req, _ := http.NewRequest("PROPFIND", "http://"+s.HTTP+"/dav/", nil)
		req.Header.Set("Depth", "0")
		req.SetBasicAuth(user, pw)
		start := time.Now()
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(b), time.Since(start)}
	}
	first := try("127.0.0.1", "alice", "guess-0")
	if first.status != http.StatusUnauthorized || first.challenge == "" {
		t.Fatalf("a wrong password: %+v", first)
	}
	same := func(what string, a answer) {
		t.Helper()
		if a.status != first.status || a.challenge != first.challenge || a.body != first.body {
			t.Errorf("%s: %d %q %q; want the answer to a wrong password, %d %q %q", what, a.status, a.challenge, a.body,
				first.status, first.challenge, first.body)
		}
	}
	// Guesses from one address, at an existing and a missing name: the
	// same answer, slowed down once past bind_throttle.after.
	var slowest [2]time.Duration
	for i := range 6 {
		for j, user := range []string{"alice", "nobody"} {
			a := try("127.0.0.1", user, "guess")
			same(user+" guess", a)
			if i >= 3 {
				slowest[j] = max(slowest[j], a.took)
			}
		}
	}
	for j, user := range []string{"alice", "nobody"} {
		if slowest[j] < 150*time.Millisecond {
			t.Errorf("guesses at %s past the throttle's threshold took at most %v: not throttled", user, slowest[j])
		}
	}
	// alice is locked now (pwdMaxFailure 3): her right password gets the
	// same 401, from another address too (no throttle delay there).
	same("alice's right password once locked", try("127.0.0.3", "alice", "alice-pw"))
	same("a missing user from another address", try("127.0.0.4", "nobody", "x"))
	// bob, not guessed at, logs in from another address.
	if a := try("127.0.0.5", "bob", "bob-pw"); a.status != 207 {
		t.Errorf("bob's login: %+v", a)
	}
	// Concurrent guesses do not crash or hang the server.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := try("127.0.0.6", "bob", "wrong-"+string(rune('a'+i)))
			if a.status != http.StatusUnauthorized {
				t.Errorf("concurrent guess: %d", a.status)
			}
		}()
	}
	wg.Wait()
}

// sendHuge sends a request whose body claims size bytes and streams them
// until the server answers or closes, and returns the status (0 if the
// server closed without answering).
func sendHuge(t *testing.T, addr, method, path string, header map[string]string, size int64) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	head := method + " " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Length: " + strconv.FormatInt(size, 10) + "\r\n"
	for k, v := range header {
		head += k + ": " + v + "\r\n"
	}
	if _, err := c.Write([]byte(head + "\r\n")); err != nil {
		t.Fatal(err)
	}
	go func() {
		chunk := make([]byte, 64<<10)
		for sent := int64(0); sent < size; sent += int64(len(chunk)) {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestWebHugeBodies: 256 MiB request bodies, before and after
// authentication, on every surface, eight at a time: each is refused
// (401 before authentication, 413 after; the console's login form 413 or
// 403) without being read whole, and the server's memory stays bounded.
func TestWebHugeBodies(t *testing.T) {
	s := startServer(t, "")
	c := dialRoot(t, s)
	req := goldap.NewAddRequest(testSuffix, nil)
	req.Attribute("objectClass", []string{"dcObject", "organization"})
	req.Attribute("dc", []string{"example"})
	req.Attribute("o", []string{"Example"})
	if err := c.Add(req); err != nil {
		t.Fatal(err)
	}
	req = goldap.NewAddRequest("uid=alice,"+testSuffix, nil)
	req.Attribute("objectClass", []string{"inetOrgPerson"})
	req.Attribute("uid", []string{"alice"})
	req.Attribute("cn", []string{"Alice"})
	req.Attribute("sn", []string{"A"})
	req.Attribute("userPassword", []string{"alice-pw"})
	if err := c.Add(req); err != nil {
		t.Fatal(err)
	}
	root, alice := basicAuth(testRootDN, testRootPass), basicAuth("alice", "alice-pw")
	const huge = 256 << 20
	before := serverRSS(s)
	cases := []struct {
		name, method, path string
		header             map[string]string
		want               []int
	}{
		{"CardDAV PUT, no credentials", "PUT", "/dav/x.vcf", map[string]string{"Content-Type": "text/vcard"}, []int{401}},
		{"CardDAV PROPFIND", "PROPFIND", "/dav/", map[string]string{"Authorization": alice, "Depth": "0", "Content-Type": "application/xml"}, []int{413}},
		{"SCIM POST, no credentials", "POST", "/scim/v2/Users", map[string]string{"Content-Type": "application/scim+json"}, []int{401}},
		{"SCIM POST", "POST", "/scim/v2/Users", map[string]string{"Authorization": root, "Content-Type": "application/scim+json"}, []int{413}},
		{"console login form", "POST", "/login", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, []int{413, 403, 400}},
	}
	var wg sync.WaitGroup
	for _, tc := range cases {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got := sendHuge(t, s.HTTP, tc.method, tc.path, tc.header, huge)
				if !slices.Contains(tc.want, got) {
					t.Errorf("%s with a %d MiB body: status %d, want one of %v", tc.name, huge>>20, got, tc.want)
				}
			}()
		}
	}
	wg.Wait()
	after := serverRSS(s)
	t.Logf("server RSS %.0f MiB before, %.0f MiB after %d bodies of %d MiB", before, after, 2*len(cases), huge>>20)
	if after-before > 128 {
		t.Errorf("server RSS grew from %.0f to %.0f MiB: a body was read whole", before, after)
	}
	// Still serving.
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + s.HTTP + "/login")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /login after the bodies: %v %v", resp, err)
	}
	resp.Body.Close()
}
