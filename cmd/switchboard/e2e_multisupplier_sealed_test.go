package main

// Sealed attributes with multi-supplier replication, end to end: replicas
// sharing the master key exchange sealed values sealed, read them in
// clear over LDAP, and never hold or send them in clear; a replica with
// another key, or none, refuses and applies nothing.

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/replication"
)

const sealedTop = "encryption:\n  attributes: [employeeNumber, homePhone]\n"

func TestMultiSupplierSealedAttributes(t *testing.T) {
	key := keyFile(t, "shared.key", hex.EncodeToString)
	c := startClusterConfig(t, 3, nil, nil, "", sealedTop, []string{"--encryption.key-file", key})
	// Record every link between the replicas from here on (the links
	// already open are cut, so every pull goes through a recording).
	for i := range c.proxies {
		for _, p := range c.proxies[i] {
			if p != nil {
				p.Capture()
				p.Cut()
				p.Heal()
			}
		}
	}
	c.seed()

	num := "emp-" + hex.EncodeToString([]byte("ms-sealed-5c1"))
	num2 := "emp-" + hex.EncodeToString([]byte("ms-second-9d4"))
	phone := "+1 555 " + hex.EncodeToString([]byte("ms7"))
	control := "clear-" + hex.EncodeToString([]byte("ms-visible-2e8"))
	secrets := []string{num, num2, phone}
	vault := "uid=vault,ou=people," + testSuffix

	c1 := dialRoot(t, c.servers[0])
	mustAdd(t, c1, vault, map[string][]string{"objectClass": {"inetOrgPerson"}, "cn": {"Vault"}, "sn": {"Vault"},
		"description": {control}, "employeeNumber": {num}, "homePhone": {phone}})
	c1.Close()
	c.converge(30 * time.Second)
	// A modify on another replica travels the other way.
	c2 := dialRoot(t, c.servers[1])
	m := goldap.NewModifyRequest(vault, nil)
	m.Replace("employeeNumber", []string{num2})
	if err := c2.Modify(m); err != nil {
		t.Fatal(err)
	}
	c2.Close()
	c.converge(30 * time.Second)

	// Every replica reads the clear values over LDAP.
	for i, s := range c.servers {
		conn := dialRoot(t, s)
		e := searchAll(t, conn, "employeeNumber", "homePhone", "description")[strings.ToLower(vault)]
		conn.Close()
		if e == nil || e.GetAttributeValue("employeeNumber") != num2 || e.GetAttributeValue("homePhone") != phone || e.GetAttributeValue("description") != control {
			t.Fatalf("replica %d reads %v", i+1, e)
		}
	}

	// The pulls carried the values sealed: nothing of them passed any
	// link in clear, while the clear attribute did (the recording sees
	// values).
	sawControl := false
	for i := range c.proxies {
		for j, p := range c.proxies[i] {
			if p == nil {
				continue
			}
			for _, b := range p.Captured() {
				sawControl = sawControl || bytes.Contains(b, []byte(control))
				for _, v := range secrets {
					if bytes.Contains(b, []byte(v)) {
						t.Errorf("replica %d's pulls from replica %d carried %q in clear", i+1, j+1, v)
					}
				}
			}
		}
	}
	if !sawControl {
		t.Fatal("control: no link carried the clear description; the recording proves nothing")
	}

	// A replica with another key refuses replica 1's changes, says why in
	// its status and its log, applies nothing and keeps serving.
	other := keyFile(t, "other.key", hex.EncodeToString)
	r4cfg := sealedReplicaConfig(t, 4, sealedTop, c.servers[0].URL)
	r4 := startServer(t, "", "--config", r4cfg, "--encryption.key-file", other)
	// A replica without the key (nor sealed attributes) refuses too.
	r5 := startServer(t, "", "--config", sealedReplicaConfig(t, 5, "", c.servers[0].URL))
	for _, tc := range []struct {
		s    *testServer
		want string
	}{{r4, "same encryption key"}, {r5, "no encryption key"}} {
		var st replication.Status
		deadline := time.Now().Add(20 * time.Second)
		for {
			if err := getJSON(t, "http://"+tc.s.Admin+"/replication", &st); err != nil {
				t.Fatal(err)
			}
			if len(st.Peers) == 1 && st.Peers[0].State == replication.PeerError && strings.Contains(st.Peers[0].Error, tc.want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %d: status %+v; want peer r1 in error saying %q", st.ReplicaID, st.Peers, tc.want)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if st.Generation != "" || len(st.Vector) != 0 || st.Entries != 0 || st.Applied != 0 {
			t.Errorf("replica %d applied something: generation %q vector %v entries %d applied %d", st.ReplicaID, st.Generation, st.Vector, st.Entries, st.Applied)
		}
		if log := tc.s.Log(); !strings.Contains(log, "REFUSED") || !strings.Contains(log, tc.want) {
			t.Errorf("replica %d's log does not report the refusal:\n%s", st.ReplicaID, log)
		}
		conn := dialRoot(t, tc.s)
		if _, err := conn.Search(searchReq("", goldap.ScopeBaseObject, "(objectClass=*)")); err != nil {
			t.Errorf("replica %d stopped serving: %v", st.ReplicaID, err)
		}
		conn.Close()
	}
	r4.Stop()
	r5.Stop()

	// replica join: with another key it fails naming the key, and
	// writes nothing; with the shared key the joined store opens the
	// values with it and holds them sealed.
	join := func(data, cfg, key string) (string, error) {
		cmd := exec.Command(binary(t), "replica", "join", "--from", c.servers[0].URL, "--config", cfg, "--data", data,
			"--suffix", testSuffix, "--root-dn", testRootDN, "--encryption.key-file", key)
		cmd.Env = append(os.Environ(), "SWITCHBOARD_ROOT_PASSWORD="+testRootPass)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	refusedDir := filepath.Join(t.TempDir(), "refused")
	if out, err := join(refusedDir, r4cfg, other); err == nil || !strings.Contains(out, "same encryption key") {
		t.Errorf("join with another key: %v\n%s", err, out)
	}
	joined := filepath.Join(t.TempDir(), "joined")
	if out, err := join(joined, r4cfg, key); err != nil {
		t.Fatalf("join with the shared key: %v\n%s", err, out)
	}
	out, errOut, code := runCLI(t, "", "export", "--data", joined, "--suffix", testSuffix, "--config", r4cfg, "--encryption.key-file", key)
	if code != 0 || !strings.Contains(out, "employeeNumber: "+num2) || !strings.Contains(out, "homePhone: "+phone) {
		t.Errorf("export of the joined store: exit %d, %s\n%s", code, errOut, out)
	}

	// No store holds them in clear, even read with the master key (entries,
	// indexes, change log, replicated state); each holds the clear one.
	for _, s := range c.servers {
		s.Stop()
	}
	stores := []string{joined}
	for _, s := range c.servers {
		stores = append(stores, s.Data)
	}
	for _, dir := range stores {
		for _, v := range secrets {
			if decryptedStoreHolds(t, dir, key, []byte(v)) {
				t.Errorf("the store %s holds %q in clear", dir, v)
			}
		}
		if !decryptedStoreHolds(t, dir, key, []byte(control)) {
			t.Errorf("control: the store %s does not hold the clear description", dir)
		}
	}
}

// sealedReplicaConfig writes the configuration of a multi-supplier
// replica id, with top-level YAML top, pulling from the replica at url.
func sealedReplicaConfig(t *testing.T, id int, top, url string) string {
	t.Helper()
	yaml := fmt.Sprintf("%s%sreplication:\n  replica_id: %d\n  multi_supplier: true\n  interval: 100ms\n  peers:\n"+
		"    - name: r1\n      url: %s\n      bind_dn: %s\n      password: %s\n", openReadAccess, top, id, url, testRootDN, testRootPass)
	return writeFile(t, fmt.Sprintf("r%d.yaml", id), yaml)
}
