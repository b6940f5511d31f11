package main

// Persistent search (draft-ietf-ldapext-psearch-03) end to end: a raw BER
// client over a socket to the real binary, which sends the control, reads
// the stream message by message, abandons, and can stop reading (go-ldap
// has no abandon and reads ahead of its caller).

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

const (
	oidPSearch = "2.16.840.1.113730.3.4.3"
	oidECN     = "2.16.840.1.113730.3.4.7"
)

// psClient is an anonymous LDAP connection that speaks raw BER.
type psClient struct {
	t    *testing.T
	conn net.Conn
	id   int64
}

func dialPS(t *testing.T, s *testServer) *psClient {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &psClient{t: t, conn: c}
}

func (p *psClient) send(op *ber.Packet, controls ...*ber.Packet) int64 {
	p.t.Helper()
	p.id++
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, p.id, ""))
	msg.AppendChild(op)
	if len(controls) > 0 {
		cs := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "")
		for _, c := range controls {
			cs.AppendChild(c)
		}
		msg.AppendChild(cs)
	}
	if _, err := p.conn.Write(msg.Bytes()); err != nil {
		p.t.Fatal(err)
	}
	return p.id
}

// psControl encodes the persistent search control (critical).
func psControl(changeTypes int, changesOnly, returnECs bool) *ber.Packet {
	v := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	v.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, changeTypes, ""))
	v.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, changesOnly, ""))
	v.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, returnECs, ""))
	c := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	c.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, oidPSearch, ""))
	c.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, true, ""))
	c.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, string(v.Bytes()), ""))
	return c
}

// search sends a subtree search of base and returns its message ID.
func (p *psClient) search(base, filter string, attrs []string, controls ...*ber.Packet) int64 {
	p.t.Helper()
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationSearchRequest, nil, "")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, base, ""))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 2, ""))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 0, ""))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 0, ""))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 0, ""))
	op.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, ""))
	f, err := goldap.CompileFilter(filter)
	if err != nil {
		p.t.Fatal(err)
	}
	op.AppendChild(f)
	as := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	for _, a := range attrs {
		as.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a, ""))
	}
	op.AppendChild(as)
	return p.send(op, controls...)
}

func (p *psClient) abandon(id int64) {
	p.send(ber.NewInteger(ber.ClassApplication, ber.TypePrimitive, goldap.ApplicationAbandonRequest, id, ""))
}

// psMsg is one response.
type psMsg struct {
	id    int64
	tag   ber.Tag // ApplicationSearchResultEntry, ...Done
	dn    string
	attrs map[string][]string
	code  int64 // of a result
	diag  string
	ecn   *ecn // of an entry, when sent
}

type ecn struct {
	changeType int64
	previousDN string
	hasNumber  bool
}

func (m psMsg) String() string {
	if m.tag == goldap.ApplicationSearchResultDone {
		return fmt.Sprintf("#%d result %d %q", m.id, m.code, m.diag)
	}
	s := fmt.Sprintf("#%d entry %s", m.id, m.dn)
	if m.ecn != nil {
		s += fmt.Sprintf(" ecn(%d,%q)", m.ecn.changeType, m.ecn.previousDN)
	}
	return s
}

// next reads one response, failing the test after wait.
func (p *psClient) next(wait time.Duration) psMsg {
	p.t.Helper()
	m, err := p.tryNext(wait)
	if err != nil {
		p.t.Fatalf("reading a response: %v", err)
	}
	return m
}

// tryNext reads one response, or fails after wait.
func (p *psClient) tryNext(wait time.Duration) (psMsg, error) {
	p.t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(wait))
	pk, err := ber.ReadPacket(p.conn)
	if err != nil {
		return psMsg{}, err
	}
	m := psMsg{id: pk.Children[0].Value.(int64), tag: pk.Children[1].Tag}
	op := pk.Children[1]
	switch m.tag {
	case goldap.ApplicationSearchResultEntry:
		m.dn = op.Children[0].Value.(string)
		m.attrs = map[string][]string{}
		for _, a := range op.Children[1].Children {
			name := strings.ToLower(a.Children[0].Value.(string))
			for _, v := range a.Children[1].Children {
				m.attrs[name] = append(m.attrs[name], v.Data.String())
			}
		}
	default:
		m.code = op.Children[0].Value.(int64)
		m.diag = op.Children[2].Value.(string)
	}
	if len(pk.Children) > 2 {
		for _, c := range pk.Children[2].Children {
			if c.Children[0].Value.(string) != oidECN {
				continue
			}
			v, err := ber.DecodePacketErr(c.Children[len(c.Children)-1].Data.Bytes())
			if err != nil {
				p.t.Fatalf("ECN value: %v", err)
			}
			e := &ecn{changeType: v.Children[0].Value.(int64)}
			for _, f := range v.Children[1:] {
				switch f.Tag {
				case ber.TagOctetString:
					e.previousDN = f.Value.(string)
				case ber.TagInteger:
					e.hasNumber = true
				}
			}
			m.ecn = e
		}
	}
	return m, nil
}

// quiet checks that nothing arrives for a while.
func (p *psClient) quiet(wait time.Duration) {
	p.t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(wait))
	var b [1]byte
	if n, err := p.conn.Read(b[:]); n > 0 || err == nil {
		p.t.Fatalf("unexpected response data")
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		p.t.Fatalf("connection: %v", err)
	}
}

func psAdd(t *testing.T, c *goldap.Conn, uid string, extra ...string) string {
	t.Helper()
	dn := "uid=" + uid + "," + peopleDN
	add := goldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	add.Attribute("uid", []string{uid})
	add.Attribute("cn", []string{uid})
	add.Attribute("sn", []string{uid})
	for i := 0; i+1 < len(extra); i += 2 {
		add.Attribute(extra[i], []string{extra[i+1]})
	}
	if err := c.Add(add); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
	return dn
}

func psModify(t *testing.T, c *goldap.Conn, dn, attr, value string) {
	t.Helper()
	m := goldap.NewModifyRequest(dn, nil)
	m.Replace(attr, []string{value})
	if err := c.Modify(m); err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}

func TestE2EPersistentSearch(t *testing.T) {
	s := startServer(t, "", "--demo")
	root := dialRoot(t, s)
	const wait = 10 * time.Second

	// The control is published.
	dse, err := root.Search(searchReq("", goldap.ScopeBaseObject, "(objectClass=*)", "supportedControl"))
	if err != nil || !slices.Contains(dse.Entries[0].GetAttributeValues("supportedControl"), oidPSearch) {
		t.Fatalf("supportedControl lacks the persistent search control: %v %v", err, dse)
	}
	people, err := root.Search(searchReq(peopleDN, goldap.ScopeWholeSubtree, "(objectClass=inetOrgPerson)", "1.1"))
	if err != nil || len(people.Entries) == 0 {
		t.Fatalf("people: %v", err)
	}

	// Initial set, then every kind of change with its ECN.
	p := dialPS(t, s)
	id := p.search(peopleDN, "(objectClass=inetOrgPerson)", []string{"cn", "description"}, psControl(15, false, true))
	for range people.Entries {
		m := p.next(wait)
		if m.id != id || m.tag != goldap.ApplicationSearchResultEntry || m.ecn != nil {
			t.Fatalf("initial set: got %v", m)
		}
	}
	p.quiet(300 * time.Millisecond) // no result: the search goes on

	dn := psAdd(t, root, "ps1")
	expect := func(what, dn string, typ int64, prev string) psMsg {
		t.Helper()
		m := p.next(wait)
		if m.id != id || m.tag != goldap.ApplicationSearchResultEntry || !strings.EqualFold(m.dn, dn) || m.ecn == nil ||
			m.ecn.changeType != typ || m.ecn.previousDN != prev || m.ecn.hasNumber {
			t.Fatalf("%s: got %v, want entry %s with ECN %d %q", what, m, dn, typ, prev)
		}
		return m
	}
	expect("add", dn, 1, "")
	psModify(t, root, dn, "description", "changed")
	if m := expect("modify", dn, 4, ""); !slices.Equal(m.attrs["description"], []string{"changed"}) {
		t.Errorf("modify notified the old state: %v", m.attrs)
	}
	if err := root.ModifyDN(goldap.NewModifyDNRequest(dn, "uid=ps1b", true, "")); err != nil {
		t.Fatal(err)
	}
	moved := "uid=ps1b," + peopleDN
	expect("modrdn", moved, 8, dn)
	if err := root.Del(goldap.NewDelRequest(moved, nil)); err != nil {
		t.Fatal(err)
	}
	if m := expect("delete", moved, 2, ""); m.attrs["cn"] == nil {
		t.Errorf("a deleted entry is returned as it was: %v", m.attrs)
	}
	// A change outside the search's scope or filter is not notified.
	psModify(t, root, "ou=groups,"+testSuffix, "description", "x")
	dn2 := psAdd(t, root, "ps2")
	expect("add after an unrelated change", dn2, 1, "")

	// Abandon ends it: nothing more for that ID, the connection serves on.
	p.abandon(id)
	time.Sleep(300 * time.Millisecond)
	psModify(t, root, dn2, "description", "after abandon")
	id2 := p.search("", "(objectClass=*)", []string{"1.1"})
	for {
		m := p.next(wait)
		if m.id == id {
			t.Fatalf("abandoned search sent %v", m)
		}
		if m.id == id2 && m.tag == goldap.ApplicationSearchResultDone {
			break
		}
	}

	// changesOnly, changeTypes add|delete, no ECN.
	p2 := dialPS(t, s)
	id = p2.search(peopleDN, "(objectClass=inetOrgPerson)", []string{"uid"}, psControl(1|2, true, false))
	p2.quiet(300 * time.Millisecond) // no initial set
	psModify(t, root, dn2, "description", "filtered out")
	if err := root.ModifyDN(goldap.NewModifyDNRequest(dn2, "uid=ps2b", true, "")); err != nil {
		t.Fatal(err)
	}
	dn3 := psAdd(t, root, "ps3")
	if m := p2.next(wait); m.id != id || !strings.EqualFold(m.dn, dn3) || m.ecn != nil {
		t.Fatalf("changesOnly add|delete: got %v, want %s without ECN (modify and modrdn filtered)", m, dn3)
	}
	if err := root.Del(goldap.NewDelRequest(dn3, nil)); err != nil {
		t.Fatal(err)
	}
	if m := p2.next(wait); m.id != id || !strings.EqualFold(m.dn, dn3) {
		t.Fatalf("delete: got %v", m)
	}

	// A malformed control value is protocolError.
	p3 := dialPS(t, s)
	bad := psControl(16, false, false) // changeTypes out of range
	id = p3.search(peopleDN, "(objectClass=*)", nil, bad)
	if m := p3.next(wait); m.id != id || m.tag != goldap.ApplicationSearchResultDone || m.code != goldap.LDAPResultProtocolError {
		t.Fatalf("bad control: got %v, want protocolError", m)
	}

	// Shutdown ends a running persistent search with unavailable.
	id = p2.search(peopleDN, "(objectClass=*)", []string{"1.1"}, psControl(15, true, true))
	p2.quiet(200 * time.Millisecond)
	stopped := make(chan struct{})
	go func() { s.Stop(); close(stopped) }()
	for {
		m := p2.next(wait)
		if m.id == id && m.tag == goldap.ApplicationSearchResultDone {
			if m.code != goldap.LDAPResultUnavailable {
				t.Errorf("shutdown: got %v, want unavailable", m)
			}
			break
		}
	}
	<-stopped // before the cleanup's Stop: the two would race on s.cmd
}

// TestE2EPersistentSearchAccess: a requester is notified of the entries it
// may read, with the attributes it may read, and cannot probe hidden ones
// with the filter.
func TestE2EPersistentSearchAccess(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "access.yaml")
	rules := `access:
  rules:
    - to attrs=userPassword by self write by anonymous auth by * none
    - to dn.subtree="ou=groups,dc=example,dc=com" by * none
    - to attrs=employeeNumber by * none
    - to * by * read
`
	if err := os.WriteFile(cfg, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "", "--demo", "--config", cfg)
	root := dialRoot(t, s)
	const wait = 10 * time.Second

	p := dialPS(t, s)
	id := p.search(testSuffix, "(objectClass=*)", []string{"*"}, psControl(15, true, true))
	probe := dialPS(t, s)
	pid := probe.search(testSuffix, "(employeeNumber=42)", []string{"1.1"}, psControl(15, true, false))
	p.quiet(200 * time.Millisecond)

	// A group (unreadable) then a person (readable, with a hidden
	// attribute the probe's filter names).
	add := goldap.NewAddRequest("cn=psgroup,ou=groups,"+testSuffix, nil)
	add.Attribute("objectClass", []string{"groupOfNames"})
	add.Attribute("cn", []string{"psgroup"})
	add.Attribute("member", []string{testRootDN})
	if err := root.Add(add); err != nil {
		t.Fatal(err)
	}
	dn := psAdd(t, root, "ps4", "employeeNumber", "42")
	m := p.next(wait)
	if m.id != id || !strings.EqualFold(m.dn, dn) {
		t.Fatalf("got %v, want %s (the group is not readable)", m, dn)
	}
	if m.attrs["employeenumber"] != nil || m.attrs["cn"] == nil {
		t.Errorf("attributes of the notified entry: %v (employeeNumber must be left out)", m.attrs)
	}
	if err := root.Del(goldap.NewDelRequest("cn=psgroup,ou=groups,"+testSuffix, nil)); err != nil {
		t.Fatal(err)
	}
	psModify(t, root, dn, "description", "seen")
	if m := p.next(wait); m.id != id || !strings.EqualFold(m.dn, dn) || m.ecn == nil || m.ecn.changeType != 4 {
		t.Fatalf("got %v, want the modify of %s (the group's delete is not readable)", m, dn)
	}
	if err := root.Del(goldap.NewDelRequest(dn, nil)); err != nil {
		t.Fatal(err)
	}
	if m := p.next(wait); m.id != id || !strings.EqualFold(m.dn, dn) || m.ecn == nil || m.ecn.changeType != 2 {
		t.Fatalf("got %v, want the delete of %s", m, dn)
	}
	// The probe learnt nothing of the add, the modify or the delete: its
	// filter is Undefined on employeeNumber.
	probe.quiet(300 * time.Millisecond)
	_ = pid
}

// TestE2EPersistentSearchSlowClient: a client that stops reading is cut
// off with adminLimitExceeded once its queue is full; writers go on.
func TestE2EPersistentSearchSlowClient(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(openReadAccess+"replication:\n  queue_length: 4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "", "--demo", "--config", cfg)
	root := dialRoot(t, s)
	dn := psAdd(t, root, "slow")
	p := dialPS(t, s)
	id := p.search(peopleDN, "(uid=slow)", []string{"description"}, psControl(15, true, true))
	p.quiet(200 * time.Millisecond)
	// Large values fill the socket buffers quickly; every write must
	// succeed promptly although the client reads nothing.
	big := strings.Repeat("x", 200_000)
	start := time.Now()
	for i := range 200 {
		psModify(t, root, dn, "description", fmt.Sprint(i, big))
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("200 writes took %v with a stalled persistent search", d)
	}
	n := 0
	for {
		m := p.next(30 * time.Second)
		if m.id != id {
			t.Fatalf("got %v", m)
		}
		if m.tag == goldap.ApplicationSearchResultDone {
			if m.code != goldap.LDAPResultAdminLimitExceeded {
				t.Fatalf("slow client: %v, want adminLimitExceeded", m)
			}
			break
		}
		n++
	}
	if n >= 200 {
		t.Errorf("the slow client got all %d notifications: it was never cut off", n)
	}
	t.Logf("slow client got %d of 200 notifications before adminLimitExceeded", n)
}
