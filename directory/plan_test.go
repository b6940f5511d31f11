package directory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory/index"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

var (
	propGiven   = []string{"Anna", "Ben", "Chloé", "Dmitri", "Émile", "Fatima", "Jon", "John", "Zoë", "Ann-Marie"}
	propSurname = []string{"Smith", "Smyth", "Müller", "Muller", "Ng", "O'Brien", "Maier", "Meyer", "Łukasiewicz", "van der Berg"}
	propMail    = []string{"anna", "ben", "chloe", "dmitri", "jon", "zoe", "am"}
)

// fillRandom adds n random people and then changes and removes some, so
// the indexes see every kind of write.
func fillRandom(t testing.TB, e *Engine, r *rand.Rand, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		uid := fmt.Sprintf("u%d", i)
		g, s := propGiven[r.IntN(len(propGiven))], propSurname[r.IntN(len(propSurname))]
		extra := []string{"uidNumber", fmt.Sprint(1000 + r.IntN(200)), "employeeNumber", fmt.Sprint(r.IntN(50))}
		if r.IntN(3) > 0 {
			extra = append(extra, "mail", fmt.Sprintf("%s.%d@Example.com", propMail[r.IntN(len(propMail))], r.IntN(5)))
		}
		if r.IntN(4) == 0 {
			extra = append(extra, "givenName", g)
		}
		attrs := person(uid, g+" "+s, s, extra...)
		attrs = append(attrs, Attr{Name: "objectClass", Values: [][]byte{[]byte("posixAccount")}},
			Attr{Name: "gidNumber", Values: [][]byte{[]byte("100")}}, Attr{Name: "homeDirectory", Values: [][]byte{[]byte("/home/" + uid)}})
		must(t, errOf(e.Add(ctx, "uid="+uid+",ou=people,dc=example,dc=com", attrs, WriteOptions{})))
	}
	for i := 0; i < n; i += 7 {
		must(t, errOf(e.Modify(ctx, fmt.Sprintf("uid=u%d,ou=people,dc=example,dc=com", i), []Mod{
			{Op: change.ModReplace, Attr: Attr{Name: "sn", Values: [][]byte{[]byte(propSurname[r.IntN(len(propSurname))])}}},
			{Op: change.ModReplace, Attr: Attr{Name: "uidNumber", Values: [][]byte{[]byte(fmt.Sprint(900 + r.IntN(400)))}}},
		}, WriteOptions{})))
	}
	for i := 3; i < n; i += 11 {
		must(t, errOf(e.Delete(ctx, fmt.Sprintf("uid=u%d,ou=people,dc=example,dc=com", i), WriteOptions{})))
	}
}

// randomFilter builds a filter of every kind the planner handles.
func randomFilter(r *rand.Rand, depth int) string {
	if depth > 0 && r.IntN(3) == 0 {
		n := 1 + r.IntN(3)
		var parts []string
		for range n {
			parts = append(parts, randomFilter(r, depth-1))
		}
		switch r.IntN(3) {
		case 0:
			return "(&" + strings.Join(parts, "") + ")"
		case 1:
			return "(|" + strings.Join(parts, "") + ")"
		default:
			return "(!" + parts[0] + ")"
		}
	}
	g, s := propGiven[r.IntN(len(propGiven))], propSurname[r.IntN(len(propSurname))]
	pick := func(v string, n int) string {
		rs := []rune(v)
		if n > len(rs) {
			n = len(rs)
		}
		return string(rs[:n])
	}
	switch r.IntN(14) {
	case 0:
		return fmt.Sprintf("(uid=u%d)", r.IntN(320))
	case 1:
		return "(sn=" + strings.ToUpper(s) + ")"
	case 2:
		return "(cn=" + pick(g, 1+r.IntN(4)) + "*)"
	case 3:
		return "(cn=*" + pick(s, 3) + "*)"
	case 4:
		return "(sn=*" + s[len(s)-2:] + ")"
	case 5:
		return "(mail=" + propMail[r.IntN(len(propMail))] + "*)"
	case 6:
		return "(sn~=" + s + ")"
	case 7:
		return fmt.Sprintf("(uidNumber>=%d)", 900+r.IntN(400))
	case 8:
		return fmt.Sprintf("(uidNumber<=%d)", 900+r.IntN(400))
	case 9:
		return "(givenName=*)"
	case 10:
		return "(objectClass=person)"
	case 11:
		return fmt.Sprintf("(createTimestamp>=%s)", time.Now().Add(-time.Hour).UTC().Format("20060102150405Z"))
	case 12:
		return "(cn=" + g + " " + s + ")"
	}
	return fmt.Sprintf("(employeeNumber=%d)", r.IntN(50)) // not indexed
}

// scanSearch is the reference: every entry in scope, checked without any
// index.
func scanSearch(t testing.TB, e *Engine, base string, scope ldap.Scope, filter string) []string {
	t.Helper()
	f, err := ldap.ParseFilter(filter)
	if err != nil {
		t.Fatal(err)
	}
	bn, _ := e.schema.NormalizeDNString(base)
	var out []string
	must(t, e.Walk(context.Background(), func(en *Entry) error {
		in := en.NDN == bn || (scope == ldap.ScopeWholeSubtree && ldap.IsBelowNDN(en.NDN, bn))
		if scope == ldap.ScopeSingleLevel {
			p, _ := ldap.ParseDN(en.DN)
			pn, _ := e.schema.NormalizeDN(p.Parent())
			in = pn == bn
		}
		if in && e.Match(f, en) {
			out = append(out, en.DN)
		}
		return nil
	}))
	sort.Strings(out)
	return out
}

// TestPlannedMatchesScan is the planner's property test: for random
// entries and random filters over every index kind, the indexed search
// returns exactly what a full scan with the same filter returns.
func TestPlannedMatchesScan(t *testing.T) {
	e := openTest(t)
	r := rand.New(rand.NewPCG(7, 11))
	fillRandom(t, e, r, 300)
	for range 600 {
		f := randomFilter(r, 2)
		base, scope := "dc=example,dc=com", ldap.ScopeWholeSubtree
		if r.IntN(4) == 0 {
			base, scope = "ou=people,dc=example,dc=com", ldap.ScopeSingleLevel
		}
		got := search(t, e, base, scope, f)
		want := scanSearch(t, e, base, scope, f)
		if !slices.Equal(got, want) {
			t.Fatalf("filter %s scope %d: planned %d entries, scan %d\nplanned: %v\nscan: %v", f, scope, len(got), len(want), got, want)
		}
	}
}

// TestIndexBuiltLater adds entries with few indexes, reopens the store
// with more, and checks that the background build makes the new indexes
// complete, that dropping one works, and that results never differ from a
// scan meanwhile.
func TestIndexBuiltLater(t *testing.T) {
	dir := t.TempDir()
	s, err := schema.Default()
	must(t, err)
	open := func(spec map[string][]string) *Engine {
		e, err := Open(Options{Dir: dir, NoSync: true, Suffix: "dc=example,dc=com", Schema: s, Indexes: spec})
		must(t, err)
		return e
	}
	e := open(map[string][]string{"objectClass": {"eq"}})
	ctx := context.Background()
	must(t, errOf(e.Add(ctx, "dc=example,dc=com", attrs("objectClass", "dcObject", "organization", "dc", "example", "o", "E"), WriteOptions{})))
	must(t, errOf(e.Add(ctx, "ou=people,dc=example,dc=com", attrs("objectClass", "organizationalUnit", "ou", "people"), WriteOptions{})))
	r := rand.New(rand.NewPCG(3, 4))
	fillRandom(t, e, r, 200)
	must(t, e.Close())

	e = open(DefaultIndexes())
	must(t, e.WaitIndexes(ctx))
	if done, total := e.IndexBuild(); done == 0 || done != total {
		t.Errorf("IndexBuild = %d/%d", done, total)
	}
	if e.ready(mustAttr(s, "cn")) == nil {
		t.Fatal("cn index not ready after the build")
	}
	// The build empties the table of one-ID lists and fills it again
	// from the indexes it built (uid is unique in fillRandom's people).
	if n := e.cache.singlesUsed(); n < 100 {
		t.Errorf("%d lists of one ID after the build, want the uids'", n)
	}
	for range 200 {
		f := randomFilter(r, 2)
		if got, want := search(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, f), scanSearch(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, f); !slices.Equal(got, want) {
			t.Fatalf("after build, %s: planned %v, scan %v", f, got, want)
		}
	}
	must(t, e.Close())

	// Dropping the substring indexes deletes their keys; results stay right.
	spec := DefaultIndexes()
	spec["cn"], spec["sn"] = []string{"eq"}, []string{"eq"}
	e = open(spec)
	defer e.Close()
	must(t, e.WaitIndexes(ctx))
	if e.ready(mustAttr(s, "cn")).Has(1 << 2) { // index.Substring
		t.Fatal("cn substring index still in use after being dropped")
	}
	for _, f := range []string{"(cn=*smi*)", "(sn=*er)", "(cn=Anna*)"} {
		if got, want := search(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, f), scanSearch(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, f); !slices.Equal(got, want) {
			t.Fatalf("after drop, %s: planned %v, scan %v", f, got, want)
		}
	}
}

func TestUnindexedLimit(t *testing.T) {
	s, _ := schema.Default()
	e, err := Open(Options{InMemory: true, Suffix: "dc=example,dc=com", Schema: s, UnindexedLimit: 50})
	must(t, err)
	defer e.Close()
	ctx := context.Background()
	must(t, errOf(e.Add(ctx, "dc=example,dc=com", attrs("objectClass", "dcObject", "organization", "dc", "example", "o", "E"), WriteOptions{})))
	must(t, errOf(e.Add(ctx, "ou=people,dc=example,dc=com", attrs("objectClass", "organizationalUnit", "ou", "people"), WriteOptions{})))
	fillRandom(t, e, rand.New(rand.NewPCG(1, 1)), 100)
	run := func(filter string, unlimited bool) error {
		f, _ := ldap.ParseFilter(filter)
		return e.Search(ctx, &SearchRequest{BaseDN: "dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Filter: f, Unlimited: unlimited},
			func(*Entry) error { return nil })
	}
	if err := run("(employeeNumber=3)", false); code(err) != ldap.AdminLimitExceeded {
		t.Errorf("unindexed search: %v, want adminLimitExceeded", err)
	}
	if err := run("(employeeNumber=3)", true); err != nil {
		t.Errorf("unindexed search by an admin: %v", err)
	}
	if err := run("(&(uid=u5)(employeeNumber=3))", false); err != nil {
		t.Errorf("indexed AND with an unindexed term: %v", err)
	}
	if err := run("(|(uid=u5)(employeeNumber=3))", false); code(err) != ldap.AdminLimitExceeded {
		t.Errorf("OR with an unindexed term: %v", err)
	}
}

// TestPlansUseIndexes checks that each index kind actually narrows the
// candidates (the property test alone would pass with no index at all).
func TestPlansUseIndexes(t *testing.T) {
	e := openTest(t)
	fillRandom(t, e, rand.New(rand.NewPCG(5, 6)), 200)
	for _, tc := range []struct {
		filter string
		max    int // candidates at most
	}{
		{"(uid=u17)", 1},
		{"(cn=Anna*)", 60},
		{"(cn=*smi*)", 60},
		{"(sn=*ier)", 60},
		{"(sn~=Meier)", 80},
		{"(uidNumber>=1290)", 60},
		{"(&(objectClass=person)(uid=u20))", 1},
		{"(|(uid=u1)(uid=u2)(mail=zoe*))", 80},
		{"(mail=*)", 200},
		{"(createTimestamp<=19990101000000Z)", 0},
	} {
		f, _ := ldap.ParseFilter(tc.filter)
		m := e.compile(f, compileOptions{})
		var n int
		err := e.db().View(func(txn *badgerTxn) error {
			p := e.planFilter(indexReader(txn), &m)
			if p == nil {
				t.Errorf("%s: no index plan", tc.filter)
				return nil
			}
			p.source().each(indexReader(txn), func(ID) bool { n++; return true })
			return nil
		})
		must(t, err)
		if n > tc.max {
			t.Errorf("%s: %d candidates, want at most %d", tc.filter, n, tc.max)
		}
	}
}

type badgerTxn = badger.Txn

func indexReader(txn *badger.Txn) index.Reader { return index.Reader{Txn: txn} }

func badgerIterOpts() badger.IteratorOptions {
	o := badger.DefaultIteratorOptions
	o.PrefetchValues = false
	return o
}

// TestAndProbesLargeLists checks the shape of Outlook's filter's plan:
// the presence list of mail, too long to count at estimateCap, becomes a
// probe on the small set when it holds at least gatherPerProbe IDs per
// candidate (at 100,000 people it always does), and is read and
// intersected otherwise; for fewCandidates or fewer it is left to the
// filter.
func TestAndProbesLargeLists(t *testing.T) {
	e := openTest(t)
	fillRandom(t, e, rand.New(rand.NewPCG(5, 6)), 300)
	probed := 0
	many := "(|"
	for i := range 12 {
		many += fmt.Sprintf("(uid=u%d)", i)
	}
	many += ")"
	for _, small := range []string{"(|(mail=zo*)(cn=Anna*))", "(|(uid=u1)(uid=u2)(uid=u3))", many} {
		f := ldapMust(t, "(&(mail=*)"+small+")")
		m := e.compile(f, compileOptions{})
		err := e.db().View(func(txn *badgerTxn) error {
			r := indexReader(txn)
			mail, _ := e.schema.Attribute("mail")
			present := r.Count(e.ready(mail).PresencePrefix(), 1000)
			if present <= estimateCap {
				t.Fatalf("only %d entries have mail: the test needs a large presence list", present)
			}
			sm := e.compile(ldapMust(t, small), compileOptions{})
			want := e.planFilter(r, &sm).gather(r).GetCardinality()
			p := e.planFilter(r, &m)
			if p == nil || p.bm == nil {
				t.Fatalf("%s: plan %+v: want a gathered set", f, p)
			}
			wantProbes := 0
			switch {
			case want <= fewCandidates:
				// So few candidates that their entries answer for mail.
				if p.bm.GetCardinality() != want {
					t.Fatalf("%s: %d candidates, want the small side's %d untouched", f, p.bm.GetCardinality(), want)
				}
			case present >= int(want)*gatherPerProbe:
				wantProbes = 1
				probed++
			}
			if len(p.probes) != wantProbes {
				t.Fatalf("%s: %d probes, want %d (%d with mail, %d candidates)", f, len(p.probes), wantProbes, present, want)
			}
			if p.bm.GetCardinality() > want {
				t.Errorf("%s: AND set has %d IDs, more than the small side's %d", f, p.bm.GetCardinality(), want)
			}
			return nil
		})
		must(t, err)
	}
	if probed == 0 {
		t.Fatal("no case probed the presence list: the test data does not exercise probes")
	}
}

func ldapMust(t *testing.T, s string) *ldap.Filter {
	t.Helper()
	f, err := ldap.ParseFilter(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
