package main

// Sealed attributes (encryption.attributes, directory/seal.go) end to end.

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	goldap "github.com/go-ldap/ldap/v3"
)

// decryptedStoreHolds opens the stopped server's store with the master
// key, as anyone holding the key could, and reports whether any key or
// value (entries, indexes, changelog) contains b.
func decryptedStoreHolds(t *testing.T, dir, keyPath string, b []byte) bool {
	t.Helper()
	key, err := readKeyFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	db, err := badger.Open(badger.DefaultOptions(dir).WithEncryptionKey(key).WithIndexCacheSize(1 << 20).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	found := false
	err = db.View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.AllVersions = true
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if bytes.Contains(it.Item().Key(), b) {
				found = true
			}
			if err := it.Item().Value(func(v []byte) error {
				found = found || bytes.Contains(v, b)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestSealedAttributes(t *testing.T) {
	keyA := keyFile(t, "a.key", hex.EncodeToString)
	keyB := keyFile(t, "b.key", hex.EncodeToString)
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	cfg := writeFile(t, "sealed.yaml", openReadAccess+"encryption:\n  attributes: [employeeNumber, homePhone]\naudit:\n  file: "+auditLog+"\n")
	sealedNum := "emp-" + hex.EncodeToString([]byte("sealed-4b1d"))
	sealedPhone := "+1 555 " + hex.EncodeToString([]byte("ph9"))
	clear := "clear-" + hex.EncodeToString([]byte("visible-77"))

	s := startServer(t, "", "--config", cfg, "--encryption.key-file", keyA)
	c := dialRoot(t, s)
	addVault(t, c, map[string][]string{
		"description":    {clear},
		"employeeNumber": {sealedNum},
		"homePhone":      {sealedPhone, "+1 555 0100"},
	})
	vault := "uid=vault," + testSuffix

	// Reads, filters and compares see clear values.
	find := func(filter string) int {
		t.Helper()
		res, err := c.Search(searchReq(testSuffix, goldap.ScopeWholeSubtree, filter, "employeeNumber", "homePhone"))
		if err != nil {
			t.Fatalf("search %s: %v", filter, err)
		}
		for _, e := range res.Entries {
			if !strings.EqualFold(e.DN, vault) {
				continue
			}
			if e.GetAttributeValue("employeeNumber") != sealedNum || len(e.GetAttributeValues("homePhone")) != 2 {
				t.Errorf("search %s returned %v %v", filter, e.GetAttributeValues("employeeNumber"), e.GetAttributeValues("homePhone"))
			}
		}
		return len(res.Entries)
	}
	for filter, want := range map[string]int{
		"(employeeNumber=" + sealedNum + ")":       1,
		"(employeeNumber=EMP-*)":                   1, // caseIgnore substrings
		"(employeeNumber=nope)":                    0,
		"(&(homePhone=+1 555 0100)(uid=vault))":    1,
		"(homePhone=*5550100*)":                    1, // telephoneNumber matching ignores spaces
		"(|(employeeNumber=nope)(homePhone=nope))": 0,
		"(!(employeeNumber=nope))":                 2,
	} {
		if got := find(filter); got != want {
			t.Errorf("%s: %d entries, want %d", filter, got, want)
		}
	}
	if ok, err := c.Compare(vault, "employeeNumber", sealedNum); !ok || err != nil {
		t.Errorf("compare the right value: %v %v", ok, err)
	}
	if ok, err := c.Compare(vault, "employeeNumber", "nope"); ok || err != nil {
		t.Errorf("compare a wrong value: %v %v", ok, err)
	}
	// A modify seals the new value too.
	newNum := "emp-" + hex.EncodeToString([]byte("second-9c2e"))
	m := goldap.NewModifyRequest(vault, nil)
	m.Replace("employeeNumber", []string{newNum})
	if err := c.Modify(m); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Compare(vault, "employeeNumber", newNum); !ok {
		t.Error("compare after modify")
	}
	// Named by its OID, in another case, with an option-free alias form:
	// still sealed, and still redacted in the audit log.
	oidNum := "emp-" + hex.EncodeToString([]byte("by-oid-51a7"))
	m = goldap.NewModifyRequest(vault, nil)
	m.Add("2.16.840.1.113730.3.1.3", []string{oidNum})
	m.Delete("EMPLOYEENUMBER", []string{oidNum})
	if err := c.Modify(m); err != nil {
		t.Fatal(err)
	}
	// A sealed attribute cannot name an entry.
	a := goldap.NewAddRequest("employeeNumber=42,"+testSuffix, nil)
	a.Attribute("objectClass", []string{"inetOrgPerson"})
	a.Attribute("cn", []string{"x"})
	a.Attribute("sn", []string{"x"})
	a.Attribute("employeeNumber", []string{"42"})
	wantCode(t, "add named by a sealed attribute", c.Add(a), goldap.LDAPResultUnwillingToPerform)
	c.Close()
	s.Stop()

	// Nothing of the sealed values in the files, nor in the store read
	// with the master key (entries, indexes, changelog); the clear
	// attribute is there, which shows the check can see values.
	for _, v := range []string{sealedNum, newNum, sealedPhone} {
		if storeHolds(t, s.Data, []byte(v)) {
			t.Errorf("the store files contain %q", v)
		}
		if decryptedStoreHolds(t, s.Data, keyA, []byte(v)) {
			t.Errorf("the decrypted store contains the sealed value %q", v)
		}
	}
	if !decryptedStoreHolds(t, s.Data, keyA, []byte(clear)) {
		t.Fatal("control: the decrypted store does not contain the clear description; the check proves nothing")
	}
	// The audit log records every write, but never a sealed value.
	logged, err := os.ReadFile(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{sealedNum, newNum, sealedPhone, oidNum} {
		if bytes.Contains(logged, []byte(v)) {
			t.Errorf("the audit log contains the sealed value %q", v)
		}
	}
	if !bytes.Contains(logged, []byte(clear)) || !bytes.Contains(logged, []byte("employeeNumber: {REDACTED}")) ||
		!bytes.Contains(logged, []byte("2.16.840.1.113730.3.1.3: {REDACTED}")) {
		t.Errorf("the audit log lacks the clear description or the redacted sealed values:\n%s", logged)
	}

	// Export gives clear text; a wrong key fails clearly.
	out, errOut, code := runCLI(t, "", "export", "--data", s.Data, "--suffix", testSuffix, "--config", cfg, "--encryption.key-file", keyA)
	if code != 0 || !strings.Contains(out, "employeeNumber: "+newNum) || !strings.Contains(out, "homePhone: "+sealedPhone) {
		t.Errorf("export: exit %d, stderr %q, output lacks the clear values:\n%s", code, errOut, out)
	}
	if _, errOut, code := runCLI(t, "", "export", "--data", s.Data, "--suffix", testSuffix, "--config", cfg, "--encryption.key-file", keyB); code == 0 || !strings.Contains(errOut, "encrypted with another key") {
		t.Errorf("export with a wrong key: exit %d, stderr %q", code, errOut)
	}
	// Rekey is refused: the sealing key derives from the master key.
	if _, errOut, code := runCLI(t, "", "rekey", "--data", s.Data, "--old-key-file", keyA, "--new-key-file", keyB); code == 0 || !strings.Contains(errOut, "holds sealed attributes") {
		t.Errorf("rekey of a store with sealed attributes: exit %d, stderr %q", code, errOut)
	}
	// Taken off the list, sealed values stay readable.
	plainCfg := writeFile(t, "plain.yaml", openReadAccess)
	if out, _, code := runCLI(t, "", "export", "--data", s.Data, "--suffix", testSuffix, "--config", plainCfg, "--encryption.key-file", keyA); code != 0 || !strings.Contains(out, newNum) {
		t.Errorf("export without encryption.attributes: exit %d", code)
	}

	// Configuration refusals.
	refused := func(what, yaml, want string, extra ...string) {
		t.Helper()
		p := writeFile(t, "bad.yaml", openReadAccess+yaml)
		args := append([]string{"export", "--data", t.TempDir(), "--suffix", testSuffix, "--config", p}, extra...)
		_, errOut, code := runCLI(t, "", args...)
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("%s: exit %d, stderr %q; want %q", what, code, errOut, want)
		}
	}
	refused("no master key", "encryption:\n  attributes: [employeeNumber]\n", "need the master key")
	refused("indexed attribute", "encryption:\n  attributes: [mail]\n", "cannot be indexed", "--encryption.key-file", keyA)
	refused("configured index", "encryption:\n  attributes: [employeeNumber]\nindexes:\n  objectClass: [eq]\n  employeeNumber: [eq]\n", "cannot be indexed", "--encryption.key-file", keyA)
	refused("unknown attribute", "encryption:\n  attributes: [noSuchAttr]\n", "not in the schema", "--encryption.key-file", keyA)
	refused("operational attribute", "encryption:\n  attributes: [entryUUID]\n", "cannot be sealed", "--encryption.key-file", keyA)
}
