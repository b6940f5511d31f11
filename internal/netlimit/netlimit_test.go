package netlimit

import (
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// TestPerAddr: with PerAddr 2, a third connection from 127.0.0.1 is
// closed at once while one from 127.0.0.2 is served; closing one of the
// first two makes room again; exempt addresses are not counted.
func TestPerAddr(t *testing.T) {
	for _, exempt := range []bool{false, true} {
		inner, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var refused atomic.Int32
		lim := Limits{Total: 10, PerAddr: 2, Refused: func(net.Addr) { refused.Add(1) }}
		if exempt {
			lim.Exempt = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		}
		l := ListenLimits(inner, lim)
		accepted := make(chan net.Conn, 10)
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					close(accepted)
					return
				}
				accepted <- c
			}
		}()
		dial := func(from string) net.Conn {
			t.Helper()
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
			c, err := d.Dial("tcp", inner.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		}
		// closed reports whether the server closed c (EOF within a while).
		closed := func(c net.Conn) bool {
			c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			_, err := c.Read(make([]byte, 1))
			ne, ok := err.(net.Error)
			return err != nil && !(ok && ne.Timeout())
		}
		dial("127.0.0.1")
		dial("127.0.0.1")
		s1, s2 := <-accepted, <-accepted
		t.Cleanup(func() { s1.Close(); s2.Close() })
		a3 := dial("127.0.0.1")
		if got := closed(a3); got == exempt {
			t.Errorf("exempt %v: third connection from one address closed: %v", exempt, got)
		}
		if !exempt {
			b := dial("127.0.0.2")
			select {
			case <-accepted:
			case <-time.After(2 * time.Second):
				t.Fatal("a connection from another address was not accepted")
			}
			if closed(b) {
				t.Error("the other address's connection was closed")
			}
			if refused.Load() != 1 {
				t.Errorf("refused %d, want 1", refused.Load())
			}
			s1.Close()
			time.Sleep(50 * time.Millisecond)
			dial("127.0.0.1")
			select {
			case <-accepted:
			case <-time.After(2 * time.Second):
				t.Fatal("no room again after a connection closed")
			}
		}
		l.Close()
	}
}
