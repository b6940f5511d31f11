package frontend

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/switchboard-ldap/switchboard/directory/directorytest"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/ldap/ldaptest"
)

var (
	oidCN  = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidOU  = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	oidDC  = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
)

// certWithSubject returns a self-signed certificate whose subject is the
// RDNs given from the root down (as a certificate stores them).
func certWithSubject(t *testing.T, rdns ...pkix.AttributeTypeAndValue) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{ExtraNames: rdns},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCertSubjectDN(t *testing.T) {
	c := certWithSubject(t, pkix.AttributeTypeAndValue{Type: oidDC, Value: "com"}, pkix.AttributeTypeAndValue{Type: oidDC, Value: "example"},
		pkix.AttributeTypeAndValue{Type: oidOU, Value: "people"}, pkix.AttributeTypeAndValue{Type: oidCN, Value: "Doe, John"})
	got, err := certSubjectDN(c)
	if want := `cn=Doe\, John,ou=people,dc=example,dc=com`; err != nil || got != want {
		t.Fatalf("certSubjectDN = %q, %v; want %q", got, err, want)
	}
}

func TestSASLExternal(t *testing.T) {
	f := newFrontend(t)
	dc := func(v string) pkix.AttributeTypeAndValue { return pkix.AttributeTypeAndValue{Type: oidDC, Value: v} }
	p03 := certWithSubject(t, dc("com"), dc("example"), pkix.AttributeTypeAndValue{Type: oidOU, Value: "People"},
		pkix.AttributeTypeAndValue{Type: oidUID, Value: "P03"})
	admin := certWithSubject(t, dc("com"), dc("example"), pkix.AttributeTypeAndValue{Type: oidCN, Value: "admin"})
	nobody := certWithSubject(t, dc("com"), dc("example"), pkix.AttributeTypeAndValue{Type: oidUID, Value: "nobody"})

	bind := func(tlsOn bool, cert *x509.Certificate, creds string) (ldap.ResultCode, *ldap.Session) {
		ctx, s := session("")
		if tlsOn {
			cs := &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true}
			if cert != nil {
				cs.PeerCertificates = []*x509.Certificate{cert}
				cs.VerifiedChains = [][]*x509.Certificate{{cert}}
			}
			s.SetTLS(cs)
		}
		r := &ldap.Request{MessageID: 1, Op: ldap.OpBindRequest, Bind: ldap.BindRequest{Version: 3, Mechanism: []byte("EXTERNAL"),
			HasCreds: creds != "", Creds: []byte(creds)}}
		rec := ldaptest.NewRecorder()
		f.ServeLDAP(ctx, rec, r)
		return rec.Code(), s
	}
	if code, _ := bind(true, p03, ""); code != ldap.AuthMethodNotSupported {
		t.Errorf("EXTERNAL while off: code %d, want 7", code)
	}
	f.cfg.SASLExternal = true
	cases := []struct {
		name   string
		tlsOn  bool
		cert   *x509.Certificate
		creds  string
		want   ldap.ResultCode
		bindDN string
	}{
		{"cleartext", false, nil, "", ldap.InappropriateAuthentication, ""},
		{"TLS without certificate", true, nil, "", ldap.InappropriateAuthentication, ""},
		{"entry", true, p03, "", ldap.Success, "uid=p03,ou=people,dc=example,dc=com"},
		{"root DN", true, admin, "", ldap.Success, root},
		{"no such entry", true, nobody, "", ldap.InvalidCredentials, ""},
		{"own authzId", true, p03, "dn:uid=p03,ou=people,dc=example,dc=com", ldap.Success, "uid=p03,ou=people,dc=example,dc=com"},
		{"other authzId", true, p03, "dn:" + root, ldap.InsufficientAccessRights, ""},
		{"u: authzId", true, p03, "u:p03", ldap.InsufficientAccessRights, ""},
	}
	for _, tc := range cases {
		code, s := bind(tc.tlsOn, tc.cert, tc.creds)
		if code != tc.want || s.BindDN() != tc.bindDN {
			t.Errorf("%s: code %d bound as %q, want %d %q", tc.name, code, s.BindDN(), tc.want, tc.bindDN)
		}
	}

	ctx, _ := session("")
	rec := ldaptest.NewRecorder()
	f.ServeLDAP(ctx, rec, searchReq("", ldap.ScopeBaseObject, "(objectClass=*)", "supportedSASLMechanisms"))
	var mechs []string
	for _, a := range rec.Entries[0].Entry.Attributes {
		for _, v := range a.Values {
			mechs = append(mechs, string(v))
		}
	}
	if !slices.Equal(mechs, []string{"EXTERNAL"}) {
		t.Errorf("supportedSASLMechanisms %q", mechs)
	}
}

// FuzzCertSubjectDN feeds arbitrary DER as a certificate subject: the
// conversion must not panic, must be deterministic, and what it returns for
// a subject of UTF-8 strings must parse as a DN with one RDN per
// certificate RDN.
func FuzzCertSubjectDN(f *testing.F) {
	for _, rdns := range [][]pkix.AttributeTypeAndValue{
		{{Type: oidDC, Value: "com"}, {Type: oidDC, Value: "example"}, {Type: oidCN, Value: "admin"}},
		{{Type: oidCN, Value: `a+b,c="d"\e#`}},
		{{Type: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: " lead and trail "}},
		{},
	} {
		der, err := asn1.Marshal(pkix.Name{ExtraNames: rdns}.ToRDNSequence())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
	}
	f.Add([]byte{0x30, 0x03, 0x31, 0x01, 0x30})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		c := &x509.Certificate{RawSubject: raw}
		s1, err1 := certSubjectDN(c)
		s2, err2 := certSubjectDN(c)
		if s1 != s2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("not deterministic: %q %v / %q %v", s1, err1, s2, err2)
		}
		if err1 != nil {
			return
		}
		// Check the output when every value is non-empty UTF-8 (others
		// take the #hex form or are empty, and may fail to bind later).
		var seq pkix.RDNSequence
		asn1.Unmarshal(raw, &seq)
		nonEmpty := 0
		for _, rdn := range seq {
			for _, atv := range rdn {
				if v, _ := atv.Value.(string); v == "" || !utf8.ValidString(v) {
					return
				}
			}
			if len(rdn) > 0 {
				nonEmpty++
			}
		}
		dn, err := ldap.ParseDN(s1)
		if err != nil {
			t.Fatalf("certSubjectDN gave %q, which does not parse: %v", s1, err)
		}
		if len(dn) != nonEmpty {
			t.Fatalf("%q: %d RDNs, the subject has %d", s1, len(dn), nonEmpty)
		}
	})
}

// identityAddr is the local address an in-process connection carries.
type identityAddr string

func (identityAddr) Network() string             { return "pipe" }
func (identityAddr) String() string              { return "in-process" }
func (a identityAddr) InProcessIdentity() string { return string(a) }

func TestInProcessExternal(t *testing.T) {
	f := newFrontend(t) // SASLExternal off: in-process binds need no TLS set-up
	p01 := "uid=locked,ou=people,dc=example,dc=com"
	directorytest.Add(t, f.engine, p01, "objectClass", "inetOrgPerson", "uid", "locked", "cn", "L", "sn", "L",
		"pwdAccountLockedTime", "000001010000Z")
	bind := func(local net.Addr, creds string) (ldap.ResultCode, *ldap.Session) {
		ctx, s := session("")
		s.LocalAddr = local
		r := &ldap.Request{MessageID: 1, Op: ldap.OpBindRequest, Bind: ldap.BindRequest{Version: 3, Mechanism: []byte("EXTERNAL"),
			HasCreds: creds != "", Creds: []byte(creds)}}
		rec := ldaptest.NewRecorder()
		f.ServeLDAP(ctx, rec, r)
		return rec.Code(), s
	}
	p03 := "uid=p03,ou=people,dc=example,dc=com"
	cases := []struct {
		name   string
		local  net.Addr
		creds  string
		want   ldap.ResultCode
		bindDN string
	}{
		{"network connection", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 389}, "", ldap.AuthMethodNotSupported, ""},
		{"no address", nil, "", ldap.AuthMethodNotSupported, ""},
		{"entry", identityAddr("UID=P03,ou=People,dc=example,dc=com"), "", ldap.Success, p03},
		{"root DN", identityAddr(root), "", ldap.Success, root},
		{"no such entry", identityAddr("uid=nobody,dc=example,dc=com"), "", ldap.InvalidCredentials, ""},
		{"locked", identityAddr(p01), "", ldap.InvalidCredentials, ""},
		{"not a DN", identityAddr("not a dn"), "", ldap.InvalidCredentials, ""},
		{"own authzId", identityAddr(p03), "dn:" + p03, ldap.Success, p03},
		{"other authzId", identityAddr(p03), "dn:" + root, ldap.InsufficientAccessRights, ""},
	}
	for _, tc := range cases {
		code, s := bind(tc.local, tc.creds)
		if code != tc.want || s.BindDN() != tc.bindDN {
			t.Errorf("%s: code %d bound as %q, want %d %q", tc.name, code, s.BindDN(), tc.want, tc.bindDN)
		}
	}
}
