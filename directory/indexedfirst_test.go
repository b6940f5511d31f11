package directory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// hideThirds is a SearchAccess that lets the requester test every
// attribute but see only the entries whose ID is not a multiple of 3, so
// that some matches do not count towards the size limit.
type hideThirds struct{}

func (hideThirds) FilterAttr(*schema.AttributeType) AttrAccess   { return AttrAllowed }
func (hideThirds) Searchable(*Entry, *schema.AttributeType) bool { return true }
func (hideThirds) Visible(en *Entry) bool                        { return en.ID%3 != 0 }

// searchIDs runs req and returns the IDs sent, in order, and the error.
func searchIDs(t *testing.T, e *Engine, req *SearchRequest) ([]ID, error) {
	t.Helper()
	var ids []ID
	err := e.Search(context.Background(), req, func(en *Entry) error { ids = append(ids, en.ID); return nil })
	return ids, err
}

// TestIndexedFirstEveryMatchOnce compares size-limited searches in any
// order, whose filters have an OR with unindexed children (indexedFirst),
// with the same searches in ID order and without a limit: whatever the
// limit, each returns min(limit, matches) entries, each once, all of them
// matches, and sizeLimitExceeded exactly when there are more matches than
// the limit. With a limit of at least the matches, the search crosses
// from the indexed candidates to the walk and must find every match.
func TestIndexedFirstEveryMatchOnce(t *testing.T) {
	e := openTestWith(t, Options{Indexes: matrixIndexes()})
	fillRandom(t, e, rand.New(rand.NewPCG(7, 8)), 600)
	filters := []string{
		"(&(mail=*)(|(mail=an*)(|(cn=an*)(|(sn=an*)(givenName=an*)))))",
		"(|(cn=Ben*)(employeeNumber=7))", // the unindexed child adds matches
		"(|(sn=Ng)(givenName=Zo*)(uidNumber=1010))",
		"(&(|(employeeNumber=3)(employeeNumber=4)(employeeNumber=5)(employeeNumber=6))(|(sn=Maier)(givenName=Jo*)))", // first candidates mostly fail
		"(|(cn=*smith*)(!(uid=u1*)))",                                                                                // most of the scope matches
		"(|(uid=u12)(employeeNumber=49))",
	}
	crossed := false
	for _, filter := range filters {
		f, err := ldap.ParseFilter(filter)
		must(t, err)
		for _, sc := range []struct {
			base  string
			scope ldap.Scope
		}{
			{"dc=example,dc=com", ldap.ScopeWholeSubtree},
			{"ou=people,dc=example,dc=com", ldap.ScopeWholeSubtree},
			{"ou=people,dc=example,dc=com", ldap.ScopeSingleLevel},
		} {
			for _, acc := range []SearchAccess{nil, hideThirds{}} {
				name := fmt.Sprintf("%s %s scope %d access %v", filter, sc.base, sc.scope, acc != nil)
				full, err := searchIDs(t, e, &SearchRequest{BaseDN: sc.base, Scope: sc.scope, Filter: f, Access: acc})
				must(t, err)
				if len(full) == 0 {
					t.Fatalf("%s: no matches; the case tests nothing", name)
				}
				match := map[ID]bool{}
				for _, id := range full {
					match[id] = true
				}
				for _, limit := range []int{1, 2, 7, len(full) - 1, len(full), len(full) + 1, 1000} {
					if limit < 1 {
						continue
					}
					got, err := searchIDs(t, e, &SearchRequest{BaseDN: sc.base, Scope: sc.scope, Filter: f, Access: acc,
						SizeLimit: limit, AnyOrder: true})
					wantCode := ldap.Success
					if len(full) > limit {
						wantCode = ldap.SizeLimitExceeded
					}
					if code(err) != wantCode {
						t.Fatalf("%s, limit %d: %v, want code %d", name, limit, err, wantCode)
					}
					if len(got) != min(limit, len(full)) {
						t.Fatalf("%s, limit %d: %d entries, want %d", name, limit, len(got), min(limit, len(full)))
					}
					seen := map[ID]bool{}
					for _, id := range got {
						if seen[id] {
							t.Fatalf("%s, limit %d: entry %d sent twice", name, limit, id)
						}
						seen[id] = true
						if !match[id] {
							t.Fatalf("%s, limit %d: entry %d is not a match", name, limit, id)
						}
					}
					if limit >= len(full) && !slices.IsSorted(got) {
						crossed = true // indexed candidates first, then the walk found the rest
					}
				}
			}
		}
	}
	if !crossed {
		t.Fatal("no search read indexed candidates first and then walked the scope for the rest")
	}
}

// TestIndexedFirstStopsAtSizeLimit: the matches of a size-limited search
// in any order are found among the indexed candidates, so the search
// looks at about the limit's worth of entries, not at the scope: under a
// lookthrough limit far below the scope's size it ends with
// sizeLimitExceeded, where the same search in ID order walks into the
// lookthrough limit (the matches are the newest entries).
func TestIndexedFirstStopsAtSizeLimit(t *testing.T) {
	e := openTestWith(t, Options{Indexes: matrixIndexes()})
	fillRandom(t, e, rand.New(rand.NewPCG(9, 10)), 300)
	ctx := context.Background()
	for i := range 10 {
		uid := fmt.Sprintf("zed%d", i)
		must(t, errOf(e.Add(ctx, "uid="+uid+",ou=people,dc=example,dc=com",
			person(uid, fmt.Sprintf("Zed %d", i), "Quux", "mail", uid+"@example.com"), WriteOptions{})))
	}
	f, err := ldap.ParseFilter("(&(mail=*)(|(mail=ze*)(|(cn=ze*)(|(sn=ze*)(givenName=ze*)))))")
	must(t, err)
	req := &SearchRequest{BaseDN: "dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Filter: f,
		SizeLimit: 5, LookthroughLimit: 20, AnyOrder: true}
	got, err := searchIDs(t, e, req)
	if code(err) != ldap.SizeLimitExceeded || len(got) != 5 {
		t.Fatalf("any order: %d entries, %v; want 5 and sizeLimitExceeded", len(got), err)
	}
	req.AnyOrder = false
	got, err = searchIDs(t, e, req)
	if code(err) != ldap.AdminLimitExceeded || len(got) != 0 {
		t.Fatalf("ID order: %d entries, %v; want none and adminLimitExceeded (the lookthrough limit)", len(got), err)
	}
}

// TestIndexedFirstKeepsIDOrderWhenResuming: a search that resumes after
// an ID (a paged search's cookie) is sent in ID order even when the caller
// allows any order, so that the next page resumes where this one ended.
func TestIndexedFirstKeepsIDOrderWhenResuming(t *testing.T) {
	e := openTestWith(t, Options{Indexes: matrixIndexes()})
	fillRandom(t, e, rand.New(rand.NewPCG(7, 8)), 300)
	f, err := ldap.ParseFilter("(|(cn=Ben*)(employeeNumber=7))")
	must(t, err)
	full, err := searchIDs(t, e, &SearchRequest{BaseDN: "dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Filter: f})
	must(t, err)
	if len(full) < 20 {
		t.Fatalf("%d matches; the case needs 20", len(full))
	}
	for _, after := range []ID{full[0], full[5], full[len(full)-7]} {
		got, err := searchIDs(t, e, &SearchRequest{BaseDN: "dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Filter: f,
			After: after, SizeLimit: 5, AnyOrder: true})
		if code(err) != ldap.SizeLimitExceeded {
			t.Fatalf("after %d: %v, want sizeLimitExceeded", after, err)
		}
		i := slices.Index(full, after) + 1
		if want := full[i : i+5]; !slices.Equal(got, want) {
			t.Fatalf("after %d: %v, want the next five in ID order %v", after, got, want)
		}
	}
}
