package main

import (
	"fmt"
	"testing"
	"time"
)

// TestCatchUpPullsEachChangeOnce: a replica healed from a partition pulls
// from its two peers, both of which hold every change it lacks. Pulled
// side by side with the same vector, each peer sent it nearly all of
// them (the second copy read, encoded, sent and decoded only to be
// dropped: 1.98x in a catch-up of 30,000); taking turns, the next pull
// asks from where the last one left.
func TestCatchUpPullsEachChangeOnce(t *testing.T) {
	c := startCluster(t, 3, nil)
	conn := dialRoot(t, c.servers[0])
	defer conn.Close()
	mustAdd(t, conn, testSuffix, map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"example"}, "o": {"Example"}})
	mustAdd(t, conn, "ou=people,"+testSuffix, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}})
	c.converge(30 * time.Second)

	c.isolate(2)
	const n = 3000 // six of the peers' batches of 500
	for k := range n {
		mustAdd(t, conn, fmt.Sprintf("cn=t%d,ou=people,%s", k, testSuffix), map[string][]string{"objectClass": {"person"}, "sn": {"x"}})
	}
	c.converge(60*time.Second, 0, 1)
	pulled0 := metric(t, c.servers[2], "switchboard_replication_pulled_changes_total")
	applied0 := metric(t, c.servers[2], "switchboard_replication_applied_changes_total")
	c.rejoin(2)
	_, took := c.converge(60 * time.Second)
	pulled := metric(t, c.servers[2], "switchboard_replication_pulled_changes_total") - pulled0
	applied := metric(t, c.servers[2], "switchboard_replication_applied_changes_total") - applied0
	t.Logf("replica 3 caught up in %s: %.0f changes pulled, %.0f applied", took.Round(time.Millisecond), pulled, applied)
	if applied < n {
		t.Fatalf("replica 3 applied %.0f changes, want at least %d", applied, n)
	}
	if pulled > 1.4*applied {
		t.Errorf("replica 3 pulled %.0f changes to apply %.0f: its peers sent the same ones", pulled, applied)
	}
}
