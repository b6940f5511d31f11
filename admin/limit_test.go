package admin

// The HTTP server's limits: timeouts, header size, connection cap.

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawConn dials the server for hand-written HTTP.
func rawConn(t *testing.T, base string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// Each read below expects an answer, or the server's close after a
	// timeout of at most 300ms, long before this deadline; and this
	// deadline comes before the server's default timeouts (10s for a
	// header, 30s otherwise), which a test must not pass by.
	c.SetDeadline(time.Now().Add(8 * time.Second))
	return c
}

// closedByServer reads c to the end and fails if the server did not
// close it (the safety deadline expired instead).
func closedByServer(t *testing.T, c net.Conn, what string) string {
	t.Helper()
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the server kept the connection open", what)
	}
	return string(b)
}

func TestSlowHeaderClosed(t *testing.T) {
	base := testAdmin(t, &Server{ReadHeaderTimeout: 200 * time.Millisecond})
	c := rawConn(t, base)
	// A header that never ends.
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	if got := closedByServer(t, c, "slow header"); strings.Contains(got, "200 OK") {
		t.Errorf("answered an unfinished header: %q", got)
	}
}

func TestSlowBodyClosed(t *testing.T) {
	base := testAdmin(t, &Server{Directory: newFakeDir(), ReadTimeout: 300 * time.Millisecond})
	c := rawConn(t, base)
	// A body announced but never sent: the token handler's read fails at
	// the read timeout instead of holding the connection.
	if _, err := io.WriteString(c, "POST /api/v1/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: "+basic(rootDN, "rootpw")+
		"\r\nContent-Length: 100\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	closedByServer(t, c, "slow body")
}

func TestIdleClosed(t *testing.T) {
	base := testAdmin(t, &Server{IdleTimeout: 200 * time.Millisecond})
	c := rawConn(t, base)
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	closedByServer(t, c, "idle keep-alive connection")
}

func TestLargeHeaderRefused(t *testing.T) {
	base := testAdmin(t, &Server{})
	req, _ := http.NewRequest("GET", base+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB header: %d", resp.StatusCode)
	}
}

func TestConnectionCap(t *testing.T) {
	base := testAdmin(t, &Server{MaxConns: 2})
	get := func(c net.Conn) error {
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	a, b := rawConn(t, base), rawConn(t, base)
	for _, c := range []net.Conn{a, b} {
		if err := get(c); err != nil {
			t.Fatal(err)
		}
	}
	// Two connections held open: a third is not served...
	third := rawConn(t, base)
	third.SetDeadline(time.Now().Add(300 * time.Millisecond))
	if err := get(third); err == nil {
		t.Fatal("a third connection was served beyond the cap of 2")
	}
	// ...until one closes. (The request was written; its answer comes.)
	third.SetDeadline(time.Now().Add(time.Minute))
	a.Close()
	resp, err := http.ReadResponse(bufio.NewReader(third), nil)
	if err != nil {
		t.Fatalf("the third connection after one closed: %v", err)
	}
	resp.Body.Close()
}
