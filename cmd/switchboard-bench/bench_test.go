package main

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// cannedServer answers every request on a loopback listener without doing
// any work: a search gets one SearchResultEntry and a SearchResultDone, any
// other request a success response of the matching type. It measures the
// client alone.
func cannedServer(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go serveCanned(nc)
		}
	}()
	return l.Addr().String()
}

func serveCanned(nc net.Conn) {
	defer nc.Close()
	br := bufio.NewReader(nc)
	var buf []byte
	var w builder
	cn := strings.Repeat("x", 300)
	for {
		pdu, err := ldap.ReadPDU(br, buf[:0], 1<<20)
		if err != nil {
			return
		}
		buf = pdu[:0]
		_, body, _, _ := tlv(pdu)
		_, idc, rest, _ := tlv(body)
		id := int32(parseInt(idc))
		w.reset()
		result := func(tag byte) {
			w.open(tagSequence)
			w.int(tagInteger, int64(id))
			w.open(tag)
			w.int(tagEnumerated, 0)
			w.str(tagOctetString, "")
			w.str(tagOctetString, "")
			w.close()
			w.close()
		}
		switch rest[0] {
		case appSearchRequest:
			w.open(tagSequence)
			w.int(tagInteger, int64(id))
			w.open(appSearchEntry)
			w.str(tagOctetString, "uid=x,ou=people,dc=example,dc=com")
			w.open(tagSequence)
			w.open(tagSequence)
			w.str(tagOctetString, "cn")
			w.open(tagSet)
			w.str(tagOctetString, cn)
			w.close()
			w.close()
			w.close()
			w.close()
			w.close()
			result(appSearchDone)
		case appBindRequest:
			result(appBindResponse)
		case appModifyRequest:
			result(appModifyResponse)
		case appAddRequest:
			result(appAddResponse)
		case appDelRequest:
			result(appDelResponse)
		default:
			return
		}
		if _, err := nc.Write(w.b); err != nil {
			return
		}
	}
}

const benchLDIF = `version: 1

dn: uid=jmuller,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: jmuller
cn: José Müller
sn: Muller
mail: jose.muller@example.com

dn: uid=asmith,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: asmith
cn: Anna Smith
sn: Smith
mail: anna.smith@example.com
`

func benchConn(tb testing.TB, op string) (*config, *workload, *conn) {
	tb.Helper()
	ds, err := readData(strings.NewReader(benchLDIF), 1)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := &config{Addr: cannedServer(tb), Conns: 1, Op: op, Base: "dc=example,dc=com", Data: ds, SizeLimit: -1,
		BindDN: "cn=admin,dc=example,dc=com", BindPW: "secret"}
	w, err := buildWorkload(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := dial(cfg, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.nc.Close() })
	return cfg, w, c
}

// TestClientAllocations proves the client is lean: an operation, request
// encoding and response decoding included, allocates nothing once the
// buffers have grown.
func TestClientAllocations(t *testing.T) {
	for _, op := range []string{"eq", "thunderbird", "bind", "modify", "adddel", "mix"} {
		cfg, w, c := benchConn(t, op)
		allocs := testing.AllocsPerRun(500, func() {
			code, err := c.one(cfg, w)
			if err != nil || code != 0 {
				t.Fatalf("%s: code %d, err %v", op, code, err)
			}
		})
		if allocs > 1 {
			t.Errorf("%s: %.1f allocations per operation, want at most 1", op, allocs)
		}
	}
}

func BenchmarkClientEq(b *testing.B)     { benchOp(b, "eq") }
func BenchmarkClientModify(b *testing.B) { benchOp(b, "modify") }
func BenchmarkClientAddDel(b *testing.B) { benchOp(b, "adddel") }

// benchOp measures one client operation against the canned server (the
// time includes the canned server's work and the loopback round trip).
func benchOp(b *testing.B, op string) {
	cfg, w, c := benchConn(b, op)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.one(cfg, w); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBuilderLongLengths(t *testing.T) {
	var w builder
	for _, n := range []int{0, 127, 128, 255, 256, 65535, 65536, 1 << 20} {
		w.reset()
		w.open(tagSequence)
		w.bytes(tagOctetString, make([]byte, n))
		w.close()
		tag, content, rest, err := tlv(w.b)
		if err != nil || tag != tagSequence || len(rest) != 0 {
			t.Fatalf("n=%d: tag %x rest %d err %v", n, tag, len(rest), err)
		}
		tag, inner, rest, err := tlv(content)
		if err != nil || tag != tagOctetString || len(inner) != n || len(rest) != 0 {
			t.Fatalf("n=%d: inner %d err %v", n, len(inner), err)
		}
	}
}

func TestHistQuantiles(t *testing.T) {
	var h hist
	for v := 1; v <= 100000; v++ {
		h.add(time.Duration(v * 1000)) // 1µs .. 100ms
	}
	for _, c := range []struct {
		q    float64
		want float64
	}{{0.5, 50e6}, {0.99, 99e6}, {0.999, 99.9e6}} {
		got := float64(h.quantile(c.q))
		if got < c.want*0.98 || got > c.want*1.02 {
			t.Errorf("q%.3f = %.0f, want %.0f ±2%%", c.q, got, c.want)
		}
	}
	for v := uint64(0); v < 1<<20; v += 7 {
		i := histIndex(v)
		if got := histValue(i); float64(got) < float64(v)*0.98-1 || float64(got) > float64(v)*1.02+1 {
			t.Fatalf("value %d -> bucket %d -> %d", v, i, got)
		}
	}
}

func FuzzParseResponse(f *testing.F) {
	var w builder
	w.open(tagSequence)
	w.int(tagInteger, 7)
	w.open(appSearchDone)
	w.int(tagEnumerated, 32)
	w.str(tagOctetString, "")
	w.str(tagOctetString, "")
	w.close()
	w.close()
	f.Add(append([]byte(nil), w.b...))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		parseResponse(b) // must not panic
	})
}
