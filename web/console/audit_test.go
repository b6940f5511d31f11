package console

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"
)

const sampleAudit = `# switchboard audit log v1
# previous: 0000000000000000000000000000000000000000000000000000000000000000
version: 1

# time: 2026-11-26T21:30:00.123Z
# who: cn=admin,dc=example,dc=com
# from: 127.0.0.1:50412
# op: add
# result: 0 success
dn: uid=ada,ou=people,dc=example,dc=com
changetype: add
cn: Ada
# chain: 1111

# time: 2026-11-27T08:00:00.000Z
# who: anonymous
# from: 10.0.0.9:4000
# op: bind
# result: 49 invalidCredentials
# diagnostic: invalid credentials
# bind dn=uid=ada,ou=people,dc=example,dc=com result=49
# chain: 2222

# time: 2026-11-28T08:00:00.000Z
# who: uid=bob,ou=people,dc=example,dc=com
# from: 10.0.0.7:4000
# op: modify
# result: 0 success
dn:: dWlkPWPDqWNpbGUsb3U9cGVvcGxlLGRjPWV4YW1wbGUsZGM9Y29t
changetype: modify
replace: description
description: <script>alert(1)</script>
-
# chain: 3333

# time: 2026-11-29T08:00:00.000Z
# who: cn=admin,dc=example,dc=com
# op: delete
`

func TestParseAudit(t *testing.T) {
	recs := parseAudit([]byte("\n\n"+sampleAudit), false)
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3 (header and cut final record dropped): %+v", len(recs), recs)
	}
	if r := recs[0]; r.Op != "add" || r.DN != "uid=ada,ou=people,dc=example,dc=com" || r.Who != "cn=admin,dc=example,dc=com" ||
		!r.Time.Equal(time.Date(2026, 11, 26, 21, 30, 0, 123e6, time.UTC)) || r.Failed() || !strings.Contains(r.Change, "cn: Ada") {
		t.Errorf("add record: %+v", r)
	}
	if r := recs[1]; r.Op != "bind" || r.DN != "uid=ada,ou=people,dc=example,dc=com" || !r.Failed() || r.Diagnostic != "invalid credentials" {
		t.Errorf("bind record: %+v", r)
	}
	if r := recs[2]; r.DN != "uid=cécile,ou=people,dc=example,dc=com" {
		t.Errorf("base64 DN: %q", r.DN)
	}
	// A tail starting inside a record drops that record.
	cut := sampleAudit[strings.Index(sampleAudit, "# from: 127"):]
	if recs := parseAudit([]byte(cut), false); len(recs) != 2 || recs[0].Op != "bind" {
		t.Errorf("cut tail: %+v", recs)
	}
	p := &auditPage{Who: "ADMIN", What: "ada"}
	if got := filterAudit(parseAudit([]byte("\n\n"+sampleAudit), false), p); len(got) != 1 || got[0].Op != "add" {
		t.Errorf("filter who=admin what=ada: %+v", got)
	}
	p = &auditPage{Since: "2026-11-27", Till: "2026-11-27"}
	if got := filterAudit(parseAudit([]byte("\n\n"+sampleAudit), false), p); len(got) != 1 || got[0].Op != "bind" {
		t.Errorf("filter on 2026-11-27: %+v", got)
	}
}

// FuzzParseAudit: any bytes parse without panicking, and every record
// returned has an operation.
func FuzzParseAudit(f *testing.F) {
	f.Add([]byte(sampleAudit), false)
	f.Add([]byte("\n\n"+sampleAudit), false)
	f.Add([]byte("# op: add\ndn:: !!!\n folded\n# chain: x"), true)
	f.Add([]byte("\n\n# bind dn=\n# op: bind\n# chain: 1\n\n\n"), false)
	f.Fuzz(func(t *testing.T, b []byte, whole bool) {
		for _, r := range parseAudit(b, whole) {
			if r.Op == "" {
				t.Fatalf("record without op: %+v", r)
			}
		}
	})
}

// fakeOps is an Operations allowing the root DN, with an audit log,
// federation agreements and a server state.
type fakeOps struct {
	log    *AuditLog
	fed    *Federation
	server *ServerState
}

func (fakeOps) Allowed(_ context.Context, dn string) bool        { return dn == rootDN }
func (fakeOps) Replication(context.Context) *Replication         { return nil }
func (o fakeOps) Audit(context.Context, bool) (*AuditLog, error) { return o.log, nil }
func (o fakeOps) Federation(context.Context) *Federation         { return o.fed }

func (o fakeOps) Server(context.Context) *ServerState {
	if o.server == nil {
		return &ServerState{}
	}
	return o.server
}

func TestAuditPage(t *testing.T) {
	f := newFixture(t, fakeOps{log: &AuditLog{File: "/var/log/audit.log", Tail: []byte("\n\n" + sampleAudit),
		Chain: &AuditChain{OK: true, Files: 1, Records: 3, Head: "3333"}}})
	b := f.browser()
	b.login(rootDN, rootPW)
	code, body := b.get("/audit?" + url.Values{"who": {"bob"}}.Encode())
	if code != 200 || !strings.Contains(body, "uid=cécile,ou=people") || strings.Contains(body, "uid=ada,ou=people,dc=example,dc=com</td>") {
		t.Fatalf("audit filtered by who=bob: %d\n%s", code, body)
	}
	if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the change record is not escaped")
	}
	if !strings.Contains(body, "intact") || !strings.Contains(body, "3 records in 1 files") {
		t.Errorf("chain state not shown:\n%s", body)
	}
	// Others than the operators do not see it.
	o := f.browser()
	o.login("jdoe", "jdoe-secret")
	if code, _ := o.get("/audit"); code != 403 {
		t.Errorf("audit page for jdoe: %d, want 403", code)
	}
	if _, body := o.get("/people"); strings.Contains(body, `href="/audit"`) {
		t.Error("the menu offers jdoe the audit page")
	}
}
