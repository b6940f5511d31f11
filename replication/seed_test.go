package replication

import (
	"context"
	"fmt"
	"testing"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/schema"
)

// TestOpenSeedsInBatches: a store filled without replication (as an
// offline import leaves it) is recorded as local adds when a Replicator
// first opens it, in batches whose states are stored as they go, so the
// State's cache stays within its bound instead of holding every entry's
// stamps until the first resolution; the store is left as it was, and a
// restart loads the stored states instead of replaying the op log.
func TestOpenSeedsInBatches(t *testing.T) {
	const people, bound = 2500, 100
	dir := t.TempDir()
	s, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := directory.Open(directory.Options{Dir: dir, NoSync: true, Suffix: "dc=example,dc=com", Schema: s,
		Migrations: append(directory.Migrations(), Migrations()...)})
	if err != nil {
		t.Fatal(err)
	}
	add := func(dn string, attrs ...string) {
		t.Helper()
		var as []directory.Attr
		for i := 0; i+1 < len(attrs); i += 2 {
			as = append(as, directory.Attr{Name: attrs[i], Values: [][]byte{[]byte(attrs[i+1])}})
		}
		if _, err := eng.Add(context.Background(), dn, as, directory.WriteOptions{}); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
	}
	add("dc=example,dc=com", "objectClass", "dcObject", "objectClass", "organization", "dc", "example", "o", "Example")
	add("ou=people,dc=example,dc=com", "objectClass", "organizationalUnit", "ou", "people")
	for i := range people {
		add(fmt.Sprintf("cn=p%d,ou=people,dc=example,dc=com", i), "objectClass", "person", "cn", fmt.Sprint("p", i), "sn", "x")
	}
	before := storeDigestOf(t, eng)
	eng.Close()

	bounded := func(mc *MultiConfig) { mc.StateCacheEntries = bound }
	tr := startReplicaWith(t, 1, dir, bounded)
	if n := tr.rep.state.Len(); n != people+2 {
		t.Fatalf("the State holds %d entries after Open, want %d", n, people+2)
	}
	if resident, _, _ := tr.rep.state.CacheStats(); resident > bound {
		t.Errorf("%d entries' stamps in memory after seeding, want at most %d", resident, bound)
	}
	if est := tr.rep.HeapEstimate(); est < int64(people)*heapPerEntry {
		t.Errorf("HeapEstimate %d bytes for %d entries, want at least %d", est, people+2, people*heapPerEntry)
	}
	tr.rep.ckptMu.Lock()
	ckpt := tr.rep.ckpt
	tr.rep.ckptMu.Unlock()
	if ckpt[1].IsZero() {
		t.Errorf("no checkpoint stored by the seeding")
	}
	d := tr.settle()
	if after := storeDigestOf(t, tr.eng); after != before {
		t.Errorf("the first resolution changed the seeded store")
	}
	tr.close()

	tr = startReplicaWith(t, 1, dir, bounded)
	if n := tr.rep.state.Len(); n != people+2 {
		t.Fatalf("the State holds %d entries after a restart, want %d", n, people+2)
	}
	if resident, _, _ := tr.rep.state.CacheStats(); resident > bound {
		t.Errorf("%d entries' stamps in memory after a restart, want at most %d", resident, bound)
	}
	if d2 := tr.settle(); d2 != d {
		t.Errorf("digest after a restart %x, want %x", d2[:6], d[:6])
	}
}

// storeDigestOf is the digest of what eng stores, as StoreDigest reads it
// (entries without an entryUUID are an error).
func storeDigestOf(t *testing.T, eng *directory.Engine) [32]byte {
	t.Helper()
	r := &Replicator{eng: eng, schema: dirSchema{eng.Schema(), nil}}
	d, err := r.StoreDigest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
