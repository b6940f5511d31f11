package frontend

import (
	"bytes"
	"errors"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/access"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// writeLimitsFrontend serves the test directory with self-writable
// entries and the given write limits.
func writeLimitsFrontend(t *testing.T, cfg WriteLimitsConfig) (*Frontend, string) {
	t.Helper()
	f := newFrontend(t)
	p, err := access.Compile(f.engine, []string{
		"to attrs=userPassword by self write by anonymous auth by * none",
		"to * by self write by * read",
	})
	if err != nil {
		t.Fatal(err)
	}
	f.SetAccess(p)
	canon := func(name string) (string, bool) {
		at, ok := f.schema.Attribute(name)
		if !ok {
			return "", false
		}
		return at.Name(), true
	}
	if f.cfg.WriteLimits, err = NewWriteLimits(cfg, canon); err != nil {
		t.Fatal(err)
	}
	return f, serveFrontend(t, f)
}

func ldapCode(err error) ldap.ResultCode {
	var le *goldap.Error
	if errors.As(err, &le) {
		return ldap.ResultCode(le.ResultCode)
	}
	if err != nil {
		return 0xffff
	}
	return 0
}

// An ordinary user cannot store a value over the per-value limit (a
// multi-MiB jpegPhoto as in the review), nor grow the entry over the entry
// limit; a value within the limits is stored; the root DN is exempt.
func TestWriteLimitsOverLDAP(t *testing.T) {
	const p01 = "uid=p01,ou=people,dc=example,dc=com"
	_, addr := writeLimitsFrontend(t, WriteLimitsConfig{
		MaxValueBytes: 512 << 10, ValueBytesByAttr: map[string]int{"description": 16},
		MaxEntryBytes: 1 << 20,
	})
	c := dialFrom(t, addr, "")
	if err := c.Bind(p01, "pwp01"); err != nil {
		t.Fatal(err)
	}
	replace := func(c *goldap.Conn, dn, attr string, v []byte) error {
		m := goldap.NewModifyRequest(dn, nil)
		m.Replace(attr, []string{string(v)})
		return c.Modify(m)
	}
	big := bytes.Repeat([]byte{0xff, 0xd8}, 3<<19) // 3 MiB, the most a request may carry with room to spare
	err := replace(c, p01, "jpegPhoto", big)
	if ldapCode(err) != ldap.AdminLimitExceeded {
		t.Fatalf("3 MiB jpegPhoto by a user: %v", err)
	}
	t.Log(err)
	if err := replace(c, p01, "jpegPhoto", big[:400<<10]); err != nil {
		t.Fatalf("400 KiB jpegPhoto: %v", err)
	}
	if err := replace(c, p01, "description", []byte("seventeen bytes!!")); ldapCode(err) != ldap.AdminLimitExceeded {
		t.Fatalf("description over its own limit: %v", err)
	}
	// 400 KiB stored; two more values of 400 KiB would make 1.2 MiB.
	m := goldap.NewModifyRequest(p01, nil)
	m.Add("jpegPhoto", []string{string(big[1 : 1+400<<10]), string(big[2 : 2+400<<10])})
	if err := c.Modify(m); ldapCode(err) != ldap.AdminLimitExceeded {
		t.Fatalf("entry over 1 MiB: %v", err)
	}

	rc := dialFrom(t, addr, "")
	if err := rc.Bind(root, "secret"); err != nil {
		t.Fatal(err)
	}
	if err := replace(rc, p01, "jpegPhoto", big); err != nil {
		t.Fatalf("root DN: %v", err)
	}
}

// The per-identity quota counts value bytes per minute, per bind DN.
func TestWriteQuotaPerMinute(t *testing.T) {
	f, _ := writeLimitsFrontend(t, WriteLimitsConfig{BytesPerMinute: 1000})
	l := f.cfg.WriteLimits
	clock := time.Unix(1e9, 0)
	l.now = func() time.Time { return clock }
	val := func(n int) []directory.Attr {
		return []directory.Attr{{Name: "description", Values: [][]byte{make([]byte, n)}}}
	}
	if err := l.checkAdd("uid=a", val(600), f.attrName); err != nil {
		t.Fatal(err)
	}
	err := l.checkModify("uid=a", nil, []directory.Mod{{Op: change.ModReplace, Attr: val(600)[0]}}, f.attrName)
	var le *ldap.Error
	if !errors.As(err, &le) || le.Code != ldap.AdminLimitExceeded {
		t.Fatalf("over the quota: %v", err)
	}
	if err := l.checkAdd("uid=b", val(600), f.attrName); err != nil {
		t.Fatalf("another identity: %v", err)
	}
	clock = clock.Add(time.Minute)
	if err := l.checkAdd("uid=a", val(600), f.attrName); err != nil {
		t.Fatalf("the next minute: %v", err)
	}
	if _, err := NewWriteLimits(WriteLimitsConfig{ValueBytesByAttr: map[string]int{"noSuchAttr": 1}}, func(string) (string, bool) { return "", false }); err == nil {
		t.Fatal("unknown attribute accepted")
	}
}
