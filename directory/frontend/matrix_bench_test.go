package frontend

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/access"
	"github.com/switchboard-ldap/switchboard/directory/ldif"
	"github.com/switchboard-ldap/switchboard/internal/cputime"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// matrixStore is the benchmark directory of docs/benchmarks (testdata/gen
// -n 100000 -deep 2, groups left out, the matrix's indexes), imported once
// per test binary into a temporary directory; user is the first person,
// the ordinary user the matrix binds as.
var matrixStore struct {
	once      sync.Once
	dir, user string
	people    []matrixPerson
	err       error
}

// matrixPerson is what the matrix's requests are built from
// (cmd/switchboard-bench: data.go).
type matrixPerson struct{ dn, uid, mail string }

// prefix2 is the two letters an autocomplete request carries.
func (p matrixPerson) prefix2() string {
	s := p.mail
	if s == "" {
		s = p.uid
	}
	return strings.ToLower(s[:min(2, len(s))])
}

const (
	matrixSuffix = "dc=example,dc=com"
	matrixPeople = "ou=people," + matrixSuffix
	matrixDeep   = "ou=berlin,ou=engineering," + matrixPeople
)

var matrixIndexes = map[string][]string{
	"objectClass": {"eq"},
	"uid":         {"eq", "sub"}, "cn": {"eq", "sub"}, "sn": {"eq", "sub"}, "mail": {"eq", "sub"},
}

func buildMatrixStore(b *testing.B) (dir, user string, people []matrixPerson) {
	matrixStore.once.Do(func() {
		s := &matrixStore
		out, err := exec.Command("go", "run", "github.com/switchboard-ldap/switchboard/testdata/gen",
			"-n", "100000", "-deep", "2", "-suffix", matrixSuffix).Output()
		if err != nil {
			s.err = err
			return
		}
		if s.dir, s.err = os.MkdirTemp("", "switchboard-matrix-"); s.err != nil {
			return
		}
		sch, err := schema.Default()
		if err != nil {
			s.err = err
			return
		}
		e, err := directory.Open(directory.Options{Dir: filepath.Join(s.dir, "db"), NoSync: true, BulkLoad: true,
			Suffix: matrixSuffix, Schema: sch, Indexes: matrixIndexes})
		if err != nil {
			s.err = err
			return
		}
		defer e.Close()
		l, err := e.NewLoader(filepath.Join(s.dir, "runs"))
		if err != nil {
			s.err = err
			return
		}
		rd := ldif.NewReader(bufio.NewReader(bytes.NewReader(out)), ldif.ReaderOptions{})
		recs := func(yield func(directory.LoadRecord, error) bool) {
			for {
				rec, err := rd.Next()
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					yield(directory.LoadRecord{}, err)
					return
				}
				if strings.HasSuffix(strings.ToLower(rec.DN), "ou=groups,"+matrixSuffix) {
					continue
				}
				attrs := make([]directory.Attr, len(rec.Attrs))
				var p matrixPerson
				for i, a := range rec.Attrs {
					attrs[i] = a
					switch strings.ToLower(a.Name) {
					case "uid":
						p.uid = string(a.Values[0])
					case "mail":
						p.mail = string(a.Values[0])
					}
				}
				if p.uid != "" {
					p.dn = rec.DN
					s.people = append(s.people, p)
					if s.user == "" {
						s.user = rec.DN
					}
				}
				if !yield(directory.LoadRecord{DN: rec.DN, Attrs: attrs, Line: rec.Line}, nil) {
					return
				}
			}
		}
		if _, err := l.Load(context.Background(), recs, 2, nil); err != nil {
			l.Cancel()
			s.err = err
			return
		}
		s.err = l.Finish()
	})
	if matrixStore.err != nil {
		b.Fatal(matrixStore.err)
	}
	return matrixStore.dir, matrixStore.user, matrixStore.people
}

// countWriter is an ldap.ResponseWriter that counts entries and keeps
// the result.
type countWriter struct {
	entries int
	res     *ldap.Result
}

func (w *countWriter) WriteEntry(*ldap.Entry, bool, ...ldap.ResponseControl) error {
	w.entries++
	return nil
}
func (w *countWriter) WriteReference([]string, ...ldap.ResponseControl) error { return nil }
func (w *countWriter) WriteIntermediate(string, []byte, ...ldap.ResponseControl) error {
	return nil
}
func (w *countWriter) WriteResult(res *ldap.Result) error { w.res = res; return nil }

// openMatrix opens the benchmark directory (buildMatrixStore) behind a
// frontend with the matrix's access rules and no size limit, returning it
// with the ordinary user's DN and the people.
func openMatrix(b *testing.B) (*Frontend, string, []matrixPerson) {
	dir, user, people := buildMatrixStore(b)
	sch, err := schema.Default()
	if err != nil {
		b.Fatal(err)
	}
	e, err := directory.Open(directory.Options{Dir: filepath.Join(dir, "db"), Suffix: matrixSuffix, Schema: sch, Indexes: matrixIndexes})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	policy, err := access.Compile(e, []string{
		"to attrs=userPassword by self write by anonymous auth by * none",
		"to * by * read",
	})
	if err != nil {
		b.Fatal(err)
	}
	f, err := New(Config{Engine: e, RootDN: "cn=admin," + matrixSuffix, RootPassword: []byte("secret"), SizeLimit: -1, Access: policy})
	if err != nil {
		b.Fatal(err)
	}
	return f, user, people
}

// matrixWithin returns the people directly below base (at most 256), for
// whom a case builds its requests as the load client does.
func matrixWithin(people []matrixPerson, base string) []matrixPerson {
	var in []matrixPerson
	for _, p := range people {
		if strings.HasSuffix(strings.ToLower(p.dn), ","+base) && strings.Count(p.dn, ",") == strings.Count(base, ",")+1 {
			if in = append(in, p); len(in) == 256 {
				break
			}
		}
	}
	return in
}

// matrixOutlook is the Outlook autocomplete request for p's prefix.
func matrixOutlook(p matrixPerson) (string, ldap.Scope, string) {
	x := p.prefix2()
	return "", ldap.ScopeWholeSubtree, "(&(mail=*)(|(mail=" + x + "*)(|(cn=" + x + "*)(|(sn=" + x + "*)(givenName=" + x + "*)))))"
}

// BenchmarkMatrix runs the cells of the slapd comparison matrix that
// trailed slapd (docs/benchmarks/2026-12-04b.md) in process, through the
// frontend, as an ordinary user under the matrix's access rules, over
// 100,000 generated people: the Outlook autocomplete filter at the suffix
// and the deep OU (an unindexed scan: givenName has no index), (cn=*smith*)
// at the deep OU (2% of the people), equality at ou=people and a base read
// of ou=people. Reported per search; entries/op is what the search sent.
func BenchmarkMatrix(b *testing.B) {
	f, user, people := openMatrix(b)
	within := func(base string) []matrixPerson { return matrixWithin(people, base) }
	outlook := matrixOutlook
	eq := func(p matrixPerson) (string, ldap.Scope, string) {
		return "", ldap.ScopeWholeSubtree, "(uid=" + p.uid + ")"
	}
	sub := func(matrixPerson) (string, ldap.Scope, string) { return "", ldap.ScopeWholeSubtree, "(cn=*smith*)" }
	read := func(p matrixPerson) (string, ldap.Scope, string) {
		return p.dn, ldap.ScopeBaseObject, "(objectClass=*)"
	}
	for _, bc := range []struct {
		name, base string
		peopleBase string // where the people the requests name live
		req        func(matrixPerson) (base string, scope ldap.Scope, filter string)
		size       int
	}{
		{"outlook/suffix", matrixSuffix, matrixPeople, outlook, 100},
		{"outlook/deep", matrixDeep, matrixDeep, outlook, 100},
		{"sub/deep", matrixDeep, matrixDeep, sub, 0},
		{"eq/people", matrixPeople, matrixPeople, eq, 0},
		{"base/people", matrixPeople, matrixPeople, read, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx, _ := session(user)
			var reqs []*ldap.Request
			for _, p := range within(bc.peopleBase) {
				base, scope, filter := bc.req(p)
				if base == "" {
					base = bc.base
				}
				r := searchReq(base, scope, filter)
				r.Search.SizeLimit = bc.size
				reqs = append(reqs, r)
			}
			if len(reqs) == 0 {
				b.Fatal("no person within " + bc.peopleBase)
			}
			w := &countWriter{}
			for _, r := range reqs[:min(16, len(reqs))] {
				f.ServeLDAP(ctx, w, r) // warm the caches
			}
			w.entries = 0
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cputime.Process()
			i := 0
			for b.Loop() {
				w.res = nil
				f.ServeLDAP(ctx, w, reqs[i%len(reqs)])
				i++
				if w.res == nil || (w.res.Code != ldap.Success && w.res.Code != ldap.SizeLimitExceeded) {
					b.Fatalf("result %+v", w.res)
				}
			}
			cputime.Report(b, cpu)
			b.ReportMetric(float64(w.entries)/float64(i), "entries/op")
		})
	}
}

// TestMain removes the benchmark directory BenchmarkMatrix imported.
func TestMain(m *testing.M) {
	code := m.Run()
	if matrixStore.dir != "" {
		os.RemoveAll(matrixStore.dir)
	}
	os.Exit(code)
}

// BenchmarkOutlook runs the matrix's Outlook cell (size limit 100,
// givenName unindexed) at its three bases, as BenchmarkMatrix does, twice:
// plain (any order: the indexed children's candidates first, the walk
// only if they yield fewer than 100) and id-order, the same request with
// a paged results control of 1,000 (more than the size limit, so the
// search still ends at 100), which keeps the ID order and so walks the
// scope from its first entry, as every search did before. Every request
// is first run both ways: each must send as many entries either way.
func BenchmarkOutlook(b *testing.B) {
	f, user, people := openMatrix(b)
	ctx, _ := session(user)
	for _, base := range []struct{ name, dn string }{
		{"suffix", matrixSuffix}, {"people", matrixPeople}, {"deep", matrixDeep},
	} {
		from := base.dn
		if from == matrixSuffix {
			from = matrixPeople
		}
		reqs := map[string][]*ldap.Request{}
		for _, p := range matrixWithin(people, from) {
			_, scope, filter := matrixOutlook(p)
			anyOrder := searchReq(base.dn, scope, filter)
			anyOrder.Search.SizeLimit = 100
			idOrder := searchReq(base.dn, scope, filter)
			idOrder.Search.SizeLimit = 100
			idOrder.Controls = []ldap.Control{pagedControl(1000, nil)}
			reqs["any"] = append(reqs["any"], anyOrder)
			reqs["id"] = append(reqs["id"], idOrder)
			var sent [2]int
			for i, r := range []*ldap.Request{anyOrder, idOrder} {
				w := &countWriter{}
				f.ServeLDAP(ctx, w, r)
				sent[i] = w.entries
			}
			if sent[0] != sent[1] {
				b.Fatalf("%s at %s: %d entries in any order, %d in ID order", filter, base.dn, sent[0], sent[1])
			}
		}
		if len(reqs["any"]) == 0 {
			b.Fatal("no person within " + from)
		}
		for _, order := range []string{"any", "id"} {
			b.Run(base.name+"/"+order, func(b *testing.B) {
				reqs := reqs[order]
				w := &countWriter{}
				for _, r := range reqs[:min(16, len(reqs))] {
					f.ServeLDAP(ctx, w, r) // warm the caches
				}
				w.entries = 0
				b.ReportAllocs()
				b.ResetTimer()
				cpu := cputime.Process()
				i := 0
				for b.Loop() {
					w.res = nil
					f.ServeLDAP(ctx, w, reqs[i%len(reqs)])
					i++
					if w.res == nil || (w.res.Code != ldap.Success && w.res.Code != ldap.SizeLimitExceeded) {
						b.Fatalf("result %+v", w.res)
					}
				}
				cputime.Report(b, cpu)
				b.ReportMetric(float64(w.entries)/float64(i), "entries/op")
			})
		}
	}
}
