package frontend

// SASL EXTERNAL over TLS client certificates (RFC 4513 section 5.2.3, RFC
// 4422 appendix A): the identity established by the TLS layer becomes the
// bind identity.

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// MechExternal is the SASL mechanism name of EXTERNAL.
const MechExternal = "EXTERNAL"

// certAttrNames names the attribute types that appear in certificate
// subjects by their LDAP short names (RFC 4519, RFC 4514 section 3);
// others are written as dotted OIDs.
var certAttrNames = map[string]string{
	"2.5.4.3":                    "cn",
	"2.5.4.4":                    "sn",
	"2.5.4.5":                    "serialNumber",
	"2.5.4.6":                    "c",
	"2.5.4.7":                    "l",
	"2.5.4.8":                    "st",
	"2.5.4.9":                    "street",
	"2.5.4.10":                   "o",
	"2.5.4.11":                   "ou",
	"2.5.4.12":                   "title",
	"2.5.4.42":                   "givenName",
	"0.9.2342.19200300.100.1.1":  "uid",
	"0.9.2342.19200300.100.1.25": "dc",
}

// certSubjectDN returns the subject of cert as an LDAP DN string (RFC
// 4514): the certificate's RDNSequence runs from the root down, an LDAP
// DN string from the leaf up, so the RDNs are reversed; multi-valued RDNs
// are kept.
func certSubjectDN(cert *x509.Certificate) (string, error) {
	var seq pkix.RDNSequence
	rest, err := asn1.Unmarshal(cert.RawSubject, &seq)
	if err != nil || len(rest) != 0 {
		return "", errors.New("certificate subject does not parse")
	}
	dn := make(ldap.DN, 0, len(seq))
	for i := len(seq) - 1; i >= 0; i-- {
		var rdn ldap.RDN
		for _, atv := range seq[i] {
			v, ok := atv.Value.(string)
			if !ok {
				return "", fmt.Errorf("certificate subject attribute %s is not a string", atv.Type)
			}
			name := certAttrNames[atv.Type.String()]
			if name == "" {
				name = atv.Type.String()
			}
			rdn = append(rdn, ldap.AVA{Type: name, Value: v})
		}
		if len(rdn) > 0 {
			dn = append(dn, rdn)
		}
	}
	return dn.String(), nil
}

// externalIdentity returns the normalised identity a SASL EXTERNAL bind
// (RFC 4513 section 5.2.3, RFC 4422 appendix A) binds as: the subject of
// the verified TLS client certificate as a DN, which must be the root DN or
// name an existing entry. Without a verified certificate the mechanism is
// inappropriateAuthentication (48). An authorization identity in the
// credentials must be that same identity ("dn:" form): proxy authorization
// is not offered.
func (f *Frontend) externalIdentity(ctx context.Context, r *ldap.Request, s *ldap.Session) (string, error) {
	cs := s.TLS()
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.PeerCertificates) == 0 {
		return "", &ldap.Error{Code: ldap.InappropriateAuthentication, Message: "SASL EXTERNAL needs a verified TLS client certificate"}
	}
	subject, err := certSubjectDN(cs.PeerCertificates[0])
	if err != nil {
		return "", &ldap.Error{Code: ldap.InvalidCredentials, Message: err.Error()}
	}
	ndn, err := f.schema.NormalizeDNString(subject)
	if err != nil || ndn == "" {
		return "", &ldap.Error{Code: ldap.InvalidCredentials, Message: "the certificate's subject is not a usable DN"}
	}
	if authz := string(r.Bind.Creds); r.Bind.HasCreds && authz != "" {
		az, ok := strings.CutPrefix(authz, "dn:")
		naz, err := f.schema.NormalizeDNString(az)
		if !ok || err != nil || naz != ndn {
			return "", &ldap.Error{Code: ldap.InsufficientAccessRights, Message: "proxy authorization is not supported: the authorization identity must be the certificate's"}
		}
	}
	if ndn == f.rootNDN {
		return ndn, nil
	}
	found := false
	err = f.backend.Search(ctx, &directory.SearchRequest{BaseDN: ndn, Scope: ldap.ScopeBaseObject, Filter: &ldap.Filter{Kind: ldap.FilterAnd}},
		func(*directory.Entry) error { found = true; return directory.ErrStop })
	if err != nil && !errors.Is(err, directory.ErrStop) || !found {
		f.cfg.Logger.Info("SASL EXTERNAL: the certificate's subject names no entry", "subject", subject, "err", err)
		return "", &ldap.Error{Code: ldap.InvalidCredentials, Message: "the certificate's subject names no entry"}
	}
	return ndn, nil
}

// CertSubjectDN returns the subject of cert as an LDAP DN string, as SASL
// EXTERNAL reads it: for other listeners that map client certificates to
// directory identities (the admin API).
func CertSubjectDN(cert *x509.Certificate) (string, error) { return certSubjectDN(cert) }

// An InProcessIdentity is the local address of a connection that code in
// this process opened to act as a directory identity it has already
// authenticated by other means (package web's Pipe.DialAs, for a SCIM
// bearer token): SASL EXTERNAL on such a connection binds as that DN.
// No network connection's local address (a *net.TCPAddr, *net.UnixAddr)
// has the method, so a network client cannot claim an identity this way.
type InProcessIdentity interface {
	net.Addr
	InProcessIdentity() string
}

// inProcessIdentity returns the identity the connection of s carries in
// its local address, if it is an in-process one.
func inProcessIdentity(s *ldap.Session) (string, bool) {
	if s == nil || s.LocalAddr == nil {
		return "", false
	}
	a, ok := s.LocalAddr.(InProcessIdentity)
	if !ok {
		return "", false
	}
	return a.InProcessIdentity(), true
}

// inProcessBind is SASL EXTERNAL on an in-process connection: the identity
// it carries must be the root DN or an existing entry whose account is not
// locked (any pwdAccountLockedTime refuses it, whatever the password
// policy's lockout duration: the identity has no password to show). An
// authorization identity in the credentials must be that same one.
func (f *Frontend) inProcessBind(ctx context.Context, r *ldap.Request, id string) (string, error) {
	ndn, err := f.schema.NormalizeDNString(id)
	if err != nil || ndn == "" {
		return "", &ldap.Error{Code: ldap.InvalidCredentials, Message: "the connection's identity is not a usable DN"}
	}
	if authz := string(r.Bind.Creds); r.Bind.HasCreds && authz != "" {
		az, ok := strings.CutPrefix(authz, "dn:")
		naz, err := f.schema.NormalizeDNString(az)
		if !ok || err != nil || naz != ndn {
			return "", &ldap.Error{Code: ldap.InsufficientAccessRights, Message: "proxy authorization is not supported: the authorization identity must be the connection's"}
		}
	}
	if ndn == f.rootNDN {
		return ndn, nil
	}
	found, locked := false, false
	err = f.backend.Search(ctx, &directory.SearchRequest{BaseDN: ndn, Scope: ldap.ScopeBaseObject, Filter: &ldap.Filter{Kind: ldap.FilterAnd}},
		func(en *directory.Entry) error {
			found, locked = true, len(en.Get("pwdAccountLockedTime")) > 0
			return directory.ErrStop
		})
	if err != nil && !errors.Is(err, directory.ErrStop) || !found {
		return "", &ldap.Error{Code: ldap.InvalidCredentials, Message: "the connection's identity names no entry"}
	}
	if locked {
		return "", &ldap.Error{Code: ldap.InvalidCredentials, Message: "the connection's identity is locked"}
	}
	return ndn, nil
}
