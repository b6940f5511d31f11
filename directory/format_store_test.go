package directory_test

import (
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/directorytest"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// storesDir holds the stores written by an earlier binary (see its
// README.md).
const storesDir = "../testdata/stores"

// TestFormat1StoreOpens opens the single-supplier store written by the
// binary of format 1 and reads back exactly what that binary exported,
// entry by entry; its indexes agree with its entries and answer searches.
func TestFormat1StoreOpens(t *testing.T) {
	dir := directorytest.UnpackStore(t, filepath.Join(storesDir, "single.tar.gz"))
	e := directorytest.Open(t, directory.Options{Dir: filepath.Join(dir, "data")})
	if v := e.FormatVersion(); v != 2 {
		t.Errorf("FormatVersion = %d, want 2 (upgraded from 1)", v)
	}
	ctx := context.Background()
	if err := e.WaitIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := e.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Agrees() {
		t.Errorf("indexes disagree with the entries: %+v", rep)
	}

	want := checkExport(t, e)

	search := func(filter string) []string {
		t.Helper()
		fl, err := ldap.ParseFilter(filter)
		if err != nil {
			t.Fatal(err)
		}
		var dns []string
		err = e.Search(ctx, &directory.SearchRequest{BaseDN: directorytest.Suffix, Scope: ldap.ScopeWholeSubtree, Filter: fl},
			func(en *directory.Entry) error { dns = append(dns, en.DN); return nil })
		if err != nil {
			t.Fatalf("%s: %v", filter, err)
		}
		slices.Sort(dns)
		return dns
	}
	if got := search("(cn=format kept)"); !slices.Equal(got, []string{"cn=Format Kept,ou=People,dc=example,dc=com"}) {
		t.Errorf("(cn=format kept): %q", got)
	}
	if got := search("(|(uid=fprobe)(cn=Format Probe*))"); len(got) != 0 {
		t.Errorf("the deleted entry is found: %q", got)
	}
	var people int
	for _, w := range want {
		if strings.Contains(strings.ToLower(w), `objectclass: ["inetorgperson"`) || strings.Contains(w, `"inetOrgPerson"`) {
			people++
		}
	}
	if got := search("(objectClass=inetOrgPerson)"); len(got) != people || people == 0 {
		t.Errorf("(objectClass=inetOrgPerson): %d entries, the export has %d", len(got), people)
	}
}

// checkExport compares every entry of e with the export of the format 1
// binary, and returns the export's entries by DN.
func checkExport(t *testing.T, e *directory.Engine) map[string]string {
	t.Helper()
	ctx := context.Background()
	f, err := os.Open(filepath.Join(storesDir, "single.export.ldif.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, rec := range directorytest.ReadLDIF(t, zr) {
		var b strings.Builder
		for _, a := range rec.Attrs {
			fmt.Fprintf(&b, "%s: %q\n", a.Name, a.Values)
		}
		want[rec.DN] = b.String()
	}
	got := map[string]string{}
	err = e.Walk(ctx, func(en *directory.Entry) error {
		var b strings.Builder
		for _, a := range en.Attrs {
			fmt.Fprintf(&b, "%s: %q\n", a.Name, a.Values)
		}
		got[en.DN] = b.String()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 320 || len(got) != len(want) {
		t.Errorf("%d entries read, %d exported, want 320 (the demo's 319 and one added)", len(got), len(want))
	}
	for dn, w := range want {
		if got[dn] != w {
			t.Errorf("%s:\n%s\nwant (as exported by the format 1 binary)\n%s", dn, got[dn], w)
		}
	}
	return want
}

// TestFormat1StoreUpgrades upgrades the format 1 store in place to a
// format 2 of a test migration: each step commits, the entries read as
// before, and a format 1 binary then refuses the store.
func TestFormat1StoreUpgrades(t *testing.T) {
	dir := directorytest.UnpackStore(t, filepath.Join(storesDir, "single.tar.gz"))
	opt := directory.Options{Dir: filepath.Join(dir, "data"), Schema: directorytest.Schema(t), Suffix: directorytest.Suffix, NoSync: true}
	v2 := opt
	directory.SetFormatForTest(&v2, 2)
	steps := 0
	v2.Migrations = []directory.Migration{{From: 1, What: "mark every entry", Step: func(_ context.Context, tx *directory.UpgradeTx, cursor []byte) ([]byte, error) {
		steps++
		var last []byte
		n := 0
		err := tx.Scan([]byte{'e'}, cursor, func(key, _ []byte) (bool, error) {
			last, n = key, n+1
			return n < 100, tx.Set(append([]byte{directory.PrefixReplication, 'T'}, key[1:]...), nil)
		})
		if n < 100 {
			return nil, err
		}
		return last, err
	}}}
	e, err := directory.Open(v2)
	if err != nil {
		t.Fatal(err)
	}
	if e.FormatVersion() != 2 || steps != 4 {
		t.Errorf("format %d after %d steps, want 2 after 4 (320 entries, 100 a step)", e.FormatVersion(), steps)
	}
	marked := 0
	err = e.View(func(v *directory.View) error {
		return v.Records([]byte{directory.PrefixReplication, 'T'}, nil, false, func(_, _ []byte) (bool, error) {
			marked++
			return true, nil
		})
	})
	if err != nil || marked != 320 {
		t.Errorf("%d entries marked (%v), want 320", marked, err)
	}
	checkExport(t, e)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	directory.SetFormatForTest(&opt, 1) // a binary of format 1
	if e, err := directory.Open(opt); err == nil || !strings.Contains(err.Error(), "the store is in format 2, newer than this binary's (1)") {
		if e != nil {
			e.Close()
		}
		t.Fatalf("a format 1 binary opened the upgraded store: %v", err)
	}
}
