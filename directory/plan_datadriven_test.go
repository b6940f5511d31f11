package directory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/switchboard-ldap/switchboard/directory/index"
	"github.com/switchboard-ldap/switchboard/internal/datadriven"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// TestPlanDataDriven runs the planner cases of testdata/plan: the plan a
// filter gets, and the candidate source a search of a base and scope
// uses, described by the String methods of explain.go. Commands:
//
//	people n=N [seed=A,B] [limit=L] [matrix]
//	                                  a new engine: the suffix, ou=people
//	                                  and fillRandom's N people (the
//	                                  engine's unindexed limit L; matrix:
//	                                  the benchmark matrix's indexes,
//	                                  givenName and mail presence unindexed)
//	plan                              input: a filter; the plan and its
//	                                  candidate count
//	search [base=DN] [scope=S] [admin] [size=N] [anyorder]
//	                                  input: a filter; the source, its
//	                                  candidates and the matches (or the
//	                                  error); S is base, one, sub, children;
//	                                  N the size limit; anyorder sets
//	                                  SearchRequest.AnyOrder
//
// DATADRIVEN_REWRITE=1 rewrites the files with the current output.
func TestPlanDataDriven(t *testing.T) {
	files, err := filepath.Glob("testdata/plan/*")
	must(t, err)
	if len(files) == 0 {
		t.Fatal("no files in testdata/plan")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			var e *Engine
			datadriven.RunFile(t, file, func(t *testing.T, c *datadriven.Case) string {
				switch c.Cmd {
				case "people":
					n, _ := strconv.Atoi(c.Value("n", "100"))
					limit, _ := strconv.Atoi(c.Value("limit", "0"))
					seed := []uint64{5, 6}
					if v, ok := c.Arg("seed"); ok && len(v) == 2 {
						seed[0], _ = strconv.ParseUint(v[0], 10, 64)
						seed[1], _ = strconv.ParseUint(v[1], 10, 64)
					}
					opt := Options{UnindexedLimit: limit}
					if _, ok := c.Arg("matrix"); ok {
						opt.Indexes = matrixIndexes()
					}
					e = openTestWith(t, opt)
					fillRandom(t, e, rand.New(rand.NewPCG(seed[0], seed[1])), n)
					return fmt.Sprintf("%d entries", e.EntryCount())
				case "plan":
					return explainPlan(t, e, c.Input)
				case "search":
					return explainSearch(t, e, c)
				}
				t.Fatalf("%s: unknown command %s", c.Pos, c.Cmd)
				return ""
			})
		})
	}
}

func explainPlan(t *testing.T, e *Engine, filter string) string {
	f, err := ldap.ParseFilter(filter)
	if err != nil {
		return "error: " + err.Error()
	}
	m := e.compile(f, compileOptions{})
	var out string
	must(t, e.db().View(func(txn *badger.Txn) error {
		r := index.Reader{Txn: txn}
		p := e.planFilter(r, &m)
		if p == nil {
			out = "no plan: walk the scope"
			return nil
		}
		n := 0
		p.source().each(r, func(ID) bool { n++; return true })
		out = fmt.Sprintf("%s\ncandidates %d", p, n)
		return nil
	}))
	return out
}

// explainSearch follows Search up to the choice of candidates, then runs
// the search itself for the matches.
func explainSearch(t *testing.T, e *Engine, c *datadriven.Case) string {
	f, err := ldap.ParseFilter(c.Input)
	if err != nil {
		return "error: " + err.Error()
	}
	scope := map[string]ldap.Scope{"base": ldap.ScopeBaseObject, "one": ldap.ScopeSingleLevel,
		"sub": ldap.ScopeWholeSubtree, "children": ldap.ScopeChildren}[c.Value("scope", "sub")]
	_, admin := c.Arg("admin")
	_, anyOrder := c.Arg("anyorder")
	size, _ := strconv.Atoi(c.Value("size", "0"))
	req := &SearchRequest{BaseDN: c.Value("base", "dc=example,dc=com"), Scope: scope, Filter: f, Unlimited: admin,
		SizeLimit: size, AnyOrder: anyOrder}
	_, baseNDN, err := e.normalizeBase(req.BaseDN)
	if err != nil {
		return "error: " + err.Error()
	}
	m := e.compile(f, compileOptions{})
	var b strings.Builder
	must(t, e.db().View(func(txn *badger.Txn) error {
		baseID, err := lookupDN(txn, baseNDN)
		if err != nil || baseID == 0 {
			return fmt.Errorf("base %s: %d, %v", baseNDN, baseID, err)
		}
		r := index.Reader{Txn: txn}
		if err := e.resolveChains(r, &m); err != nil {
			return err
		}
		src, err := e.candidates(r, e.trees.begin(), &m, req, baseID, baseNDN)
		if err != nil {
			fmt.Fprintf(&b, "error: %v", err)
			return nil
		}
		n := 0
		src.each(r, func(ID) bool { n++; return true })
		fmt.Fprintf(&b, "%v\ncandidates %d", src, n)
		return nil
	}))
	if strings.HasPrefix(b.String(), "error") {
		return b.String()
	}
	matches := 0
	err = e.Search(context.Background(), req, func(*Entry) error { matches++; return nil })
	switch {
	case code(err) == ldap.SizeLimitExceeded:
		fmt.Fprintf(&b, "\nmatches %d, size limit exceeded", matches)
	case err != nil:
		fmt.Fprintf(&b, "\nsearch: %v", err)
	default:
		fmt.Fprintf(&b, "\nmatches %d", matches)
	}
	return b.String()
}

// matrixIndexes are the indexes of the benchmark matrix
// (docs/benchmarks): both servers index the same attributes, givenName
// not at all, mail without presence.
func matrixIndexes() map[string][]string {
	return map[string][]string{"objectClass": {"eq"},
		"uid": {"eq", "sub"}, "cn": {"eq", "sub"}, "sn": {"eq", "sub"}, "mail": {"eq", "sub"}}
}
