package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestSmokeAgainstSwitchboard builds the real switchboard binary, imports
// a generated 500-person directory with `switchboard import`, serves it and
// runs the client in-process for about a second per operation.
func TestSmokeAgainstSwitchboard(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs switchboard")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "switchboard")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/switchboard-ldap/switchboard/cmd/switchboard").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ldifPath := filepath.Join(dir, "people.ldif")
	gen := exec.Command("go", "run", "github.com/switchboard-ldap/switchboard/testdata/gen", "-n", "500", "-suffix", "dc=example,dc=com")
	out, err := gen.Output()
	if err != nil {
		t.Fatalf("testdata/gen: %v", err)
	}
	if err := os.WriteFile(ldifPath, out, 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if out, err := exec.Command(bin, "import", "--data", data, ldifPath).CombinedOutput(); err != nil {
		t.Fatalf("switchboard import: %v\n%s", err, out)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	srv := exec.Command(bin, "serve", "--data", data, "--listen", addr, "--admin-listen", "", "--http-listen", "",
		"--suffix", "dc=example,dc=com", "--root-dn", "cn=admin,dc=example,dc=com", "--log.level", "warn")
	srv.Env = append(os.Environ(), "SWITCHBOARD_ROOT_PASSWORD=secret")
	srv.Stdout, srv.Stderr = logf, logf
	srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			srv.Process.Kill()
			<-done
		}
	})
	serverLog := func() string { b, _ := os.ReadFile(logf.Name()); return string(b) }
	up := false
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			up = true
			break
		}
	}
	if !up {
		t.Fatalf("switchboard did not listen on %s:\n%s", addr, serverLog())
	}

	ds, err := loadData(ldifPath, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.People) != 500 {
		t.Fatalf("loaded %d people, want 500", len(ds.People))
	}
	for _, op := range []string{"eq", "sub", "bind", "modify", "sort", "vlv", "onelevel", "paged", "sortpage"} {
		cfg := &config{Addr: addr, Conns: 4, Duration: time.Second, Warmup: 100 * time.Millisecond, Op: op,
			BindDN: "cn=admin,dc=example,dc=com", BindPW: "secret", Base: "dc=example,dc=com",
			Data: ds, Seed: 1, SizeLimit: -1, ServerPID: srv.Process.Pid}
		res, err := run(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%s: %v\n%s", op, err, serverLog())
		}
		t.Logf("%s", res.format())
		if res.Ops == 0 || len(res.Errors) != 0 || res.IOErrors != 0 {
			t.Errorf("%s: ops %d, errors %v, connection errors %d (%s)", op, res.Ops, res.Errors, res.IOErrors, res.FirstIOError)
		}
		switch op {
		case "eq":
			if res.EntriesPerOp != 1 {
				t.Errorf("eq: %.3f entries per search, want exactly 1", res.EntriesPerOp)
			}
		case "sort", "vlv":
			// sort: the size limit of 100; vlv: a window of 20, fewer
			// at the end of the list.
			if want := map[string]float64{"sort": 100, "vlv": 20}[op]; res.EntriesPerOp > want || res.EntriesPerOp < want/2 {
				t.Errorf("%s: %.3f entries per search, want about %v", op, res.EntriesPerOp, want)
			}
			if res.ServerRSSMaxKB < res.ServerRSSKB {
				t.Errorf("%s: highest RSS %d KiB below the last %d KiB", op, res.ServerRSSMaxKB, res.ServerRSSKB)
			}
		case "paged", "sortpage":
			// A page of 100; the first 20 sorted (size limit).
			if want := map[string]float64{"paged": 100, "sortpage": 20}[op]; res.EntriesPerOp != want {
				t.Errorf("%s: %.3f entries per search, want %v", op, res.EntriesPerOp, want)
			}
		case "onelevel":
			if res.EntriesPerOp != 2 { // ou=people and ou=groups
				t.Errorf("onelevel: %.3f entries per search, want 2", res.EntriesPerOp)
			}
		case "sub":
			// Every 100th person has sn Smith, and cn holds the full name.
			if res.EntriesPerOp < 5 {
				t.Errorf("sub: %.3f entries per search, want at least 5", res.EntriesPerOp)
			}
		}
		if res.ServerRSSKB == 0 {
			t.Errorf("%s: no server RSS read from /proc", op)
		}
	}
}
