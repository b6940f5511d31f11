package frontend

import (
	"bufio"
	"net"
	"path/filepath"
	"strings"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/access"
	"github.com/switchboard-ldap/switchboard/internal/cputime"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// BenchmarkRequestPath measures the whole request path of the matrix's
// hot cells over loopback: the server decodes the request, the frontend
// checks access and searches the directory, the entry is encoded and
// written. The client sends pre-encoded requests and frames the replies
// into one reused buffer, so allocs/op is the server's. Each case runs as
// the root DN, as an ordinary user (the matrix's reader, under the
// matrix's two access rules) and anonymously: issue 13 wants the last two
// within 10% of the first.
func BenchmarkRequestPath(b *testing.B) {
	dir, user, people := buildMatrixStore(b)
	sch, err := schema.Default()
	if err != nil {
		b.Fatal(err)
	}
	e, err := directory.Open(directory.Options{Dir: filepath.Join(dir, "db"), Suffix: matrixSuffix, Schema: sch, Indexes: matrixIndexes})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	policy, err := access.Compile(e, []string{
		"to attrs=userPassword by self write by anonymous auth by * none",
		"to * by * read",
	})
	if err != nil {
		b.Fatal(err)
	}
	const rootDN = "cn=admin," + matrixSuffix
	f, err := New(Config{Engine: e, RootDN: rootDN, RootPassword: []byte("secret"), SizeLimit: -1, Access: policy})
	if err != nil {
		b.Fatal(err)
	}
	srv := &ldap.Server{Handler: f}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	var within []matrixPerson
	for _, p := range people {
		if strings.HasSuffix(strings.ToLower(p.dn), ","+matrixPeople) && strings.Count(p.dn, ",") == strings.Count(matrixPeople, ",")+1 {
			if within = append(within, p); len(within) == 255 {
				break
			}
		}
	}
	eq := func(id int64, p matrixPerson) []byte {
		f := ber.Encode(ber.ClassContext, ber.TypeConstructed, 3, nil, "")
		f.AppendChild(pathOctets("uid"))
		f.AppendChild(pathOctets(p.uid))
		return pathSearchPDU(id, matrixPeople, ldap.ScopeWholeSubtree, f)
	}
	read := func(id int64, p matrixPerson) []byte {
		return pathSearchPDU(id, p.dn, ldap.ScopeBaseObject, ber.NewString(ber.ClassContext, ber.TypePrimitive, 7, "objectClass", ""))
	}
	for _, bc := range []struct {
		name string
		req  func(int64, matrixPerson) []byte
	}{{"eq", eq}, {"base", read}} {
		for _, who := range []struct{ name, dn, pw string }{
			{"root", rootDN, "secret"}, {"user", user, "password"}, {"anonymous", "", ""},
		} {
			b.Run(bc.name+"/"+who.name, func(b *testing.B) {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				br := bufio.NewReader(c)
				buf := make([]byte, 0, 4096)
				if who.dn != "" {
					c.Write(pathBindPDU(256, who.dn, who.pw))
					if buf, err = ldap.ReadPDU(br, buf[:0], 1<<20); err != nil {
						b.Fatal(err)
					}
					if code := pathResultCode(buf); code != ldap.Success {
						b.Fatalf("bind as %s: %v", who.dn, code)
					}
				}
				reqs := make([][]byte, len(within))
				for i, p := range within {
					reqs[i] = bc.req(int64(i+1), p)
				}
				entries := 0
				roundTrip := func(i int) {
					if _, err := c.Write(reqs[i%len(reqs)]); err != nil {
						b.Fatal(err)
					}
					for {
						if buf, err = ldap.ReadPDU(br, buf[:0], 1<<20); err != nil {
							b.Fatal(err)
						}
						switch pathOp(buf) {
						case ldap.OpSearchResultEntry:
							entries++
							continue
						case ldap.OpSearchResultDone:
							if code := pathResultCode(buf); code != ldap.Success {
								b.Fatalf("search: %v", code)
							}
						default:
							b.Fatalf("unexpected response %x", buf)
						}
						return
					}
				}
				for i := range 64 {
					roundTrip(i) // warm the caches
				}
				entries = 0
				b.ReportAllocs()
				b.ResetTimer()
				cpu := cputime.Process()
				i := 0
				for b.Loop() {
					roundTrip(i)
					i++
				}
				cputime.Report(b, cpu)
				b.ReportMetric(float64(entries)/float64(i), "entries/op")
			})
		}
	}
}

// ---- the client side of BenchmarkRequestPath, via asn1-ber ------------

func pathOctets(s string) *ber.Packet {
	return ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, s, "")
}

func pathEnvelope(id int64, op *ber.Packet) []byte {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
	p.AppendChild(op)
	return p.Bytes()
}

func pathBindPDU(id int64, dn, pw string) []byte {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ber.Tag(ldap.OpBindRequest), nil, "")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 3, ""))
	op.AppendChild(pathOctets(dn))
	op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, pw, ""))
	return pathEnvelope(id, op)
}

func pathSearchPDU(id int64, base string, scope ldap.Scope, filter *ber.Packet) []byte {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ber.Tag(ldap.OpSearchRequest), nil, "")
	op.AppendChild(pathOctets(base))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(scope), ""))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 0, ""))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 0, ""))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 0, ""))
	op.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, ""))
	op.AppendChild(filter)
	op.AppendChild(ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, ""))
	return pathEnvelope(id, op)
}

// pathTLV splits the first BER element of b (definite lengths only):
// its tag byte, contents and what follows.
func pathTLV(b []byte) (tag byte, body, rest []byte) {
	if len(b) < 2 {
		return 0, nil, nil
	}
	tag, n, b := b[0], int(b[1]), b[2:]
	if n&0x80 != 0 {
		k := n & 0x7f
		n = 0
		for _, c := range b[:k] {
			n = n<<8 | int(c)
		}
		b = b[k:]
	}
	return tag, b[:n], b[n:]
}

// pathOp returns the protocol operation of the LDAPMessage pdu.
func pathOp(pdu []byte) ldap.Op {
	_, msg, _ := pathTLV(pdu)
	_, _, op := pathTLV(msg) // skip the message ID
	return ldap.Op(op[0] & 0x1f)
}

// pathResultCode returns the result code of the LDAPResult in pdu.
func pathResultCode(pdu []byte) ldap.ResultCode {
	_, msg, _ := pathTLV(pdu)
	_, _, op := pathTLV(msg)
	_, res, _ := pathTLV(op)
	_, code, _ := pathTLV(res)
	var v int
	for _, c := range code {
		v = v<<8 | int(c)
	}
	return ldap.ResultCode(v)
}
