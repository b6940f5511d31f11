package replicatest

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// echoServer answers each line with the same line.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					c.Write([]byte(line))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(addr, msg string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(msg + "\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func TestProxyCutHealDelay(t *testing.T) {
	p, err := NewProxy(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got, err := roundTrip(p.Addr(), "hello"); err != nil || got != "hello\n" {
		t.Fatalf("through the proxy: %q, %v", got, err)
	}

	// An open connection dies with the cut, and new ones get nothing.
	open, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	open.Write([]byte("before\n"))
	r := bufio.NewReader(open)
	if line, err := r.ReadString('\n'); err != nil || line != "before\n" {
		t.Fatalf("before the cut: %q, %v", line, err)
	}
	p.Cut()
	open.SetDeadline(time.Now().Add(2 * time.Second))
	open.Write([]byte("during\n"))
	if line, err := r.ReadString('\n'); err == nil {
		t.Fatalf("an open connection passed %q across the cut", line)
	}
	if got, err := roundTrip(p.Addr(), "cut"); err == nil {
		t.Fatalf("a new connection passed %q across the cut", got)
	}

	p.Heal()
	if got, err := roundTrip(p.Addr(), "healed"); err != nil || got != "healed\n" {
		t.Fatalf("after healing: %q, %v", got, err)
	}

	p.SetDelay(150 * time.Millisecond)
	start := time.Now()
	if got, err := roundTrip(p.Addr(), "slow"); err != nil || got != "slow\n" {
		t.Fatalf("delayed: %q, %v", got, err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Fatalf("a delayed round trip took %s, want at least 300ms (150ms each way)", took)
	}
}
