package main

// The test harness: builds the switchboard binary once per `go test` run and
// starts it as a real subprocess on a free loopback port, so that the
// end-to-end tests talk to it exactly as clients do.

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	testSuffix   = "dc=example,dc=com"
	testRootDN   = "cn=admin,dc=example,dc=com"
	testRootPass = "secret"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary returns the path of a switchboard binary built from this tree.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "switchboard-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "switchboard")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// freePort returns a loopback address nothing listens on.
func freePort(t testing.TB) string {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		// The kernel may hand a port just closed out again: one server's
		// listeners once got the same one.
		if _, loaded := portsGiven.LoadOrStore(addr, true); !loaded {
			return addr
		}
	}
}

// portsGiven holds every address freePort returned in this process.
var portsGiven sync.Map

// testServer is a running switchboard subprocess.
type testServer struct {
	Addr  string // host:port of the LDAP listener
	Admin string // host:port of the admin HTTP listener
	HTTP  string // host:port of the public HTTP listener (http_listen)
	Data  string // data directory
	URL   string // ldap://host:port
	cmd   *exec.Cmd
	log   *os.File
	args  []string
	t     testing.TB
	// startWait bounds how long start waits for the server to serve
	// (0: three minutes).
	startWait time.Duration
}

// openReadAccess is the access section the end-to-end tests run under
// unless they pass their own --config: anyone reads everything but
// userPassword, which serves binds and its owner, and pwdHistory (former
// password hashes, kept by the password policy), and only the root DN
// writes. It is the access the slapd of the differential tests has, and
// what the server allowed before access control was configurable; the
// tests of access control itself (e2e_access_test.go) use their own rules
// and the built-in defaults.
const openReadAccess = `access:
  rules:
    - to attrs=userPassword by self write by anonymous auth by * none
    - to attrs=pwdHistory by * none
    - to * by * read
`

// startServer starts switchboard on a fresh data directory (or data, if
// not empty) with the given extra flags, and waits until it accepts
// connections. Without a --config flag it runs under openReadAccess;
// without a --bind-throttle flag, without the failed-bind throttle. The
// server is stopped when the test ends.
func startServer(t testing.TB, data string, extra ...string) *testServer {
	t.Helper()
	if data == "" {
		data = filepath.Join(t.TempDir(), "data")
	}
	hasConfig, throttle := false, false
	for _, a := range extra {
		hasConfig = hasConfig || a == "--config"
		throttle = throttle || strings.HasPrefix(a, "--bind-throttle")
	}
	if !throttle {
		// Tests make failed binds on purpose, many from one address; the
		// throttle's own tests turn it on with their settings.
		extra = append(extra, "--bind-throttle.enabled=false")
	}
	if !hasConfig {
		cfg := filepath.Join(t.TempDir(), "access.yaml")
		if err := os.WriteFile(cfg, []byte(openReadAccess), 0o600); err != nil {
			t.Fatal(err)
		}
		extra = append([]string{"--config", cfg}, extra...)
	}
	s := &testServer{Data: data, t: t}
	s.args = extra
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func (s *testServer) start() { s.startAttempt(1) }

// startAttempt is start's attempt n: freePort's ports are free when it
// returns, not when the server binds them, and a test process with many
// connections (or another package's tests) can take one in between; the
// server then exits with "address already in use", and start tries new
// ports, three times at most.
func (s *testServer) startAttempt(n int) {
	t := s.t
	t.Helper()
	s.Addr, s.Admin, s.HTTP = freePort(t), freePort(t), freePort(t)
	s.URL = "ldap://" + s.Addr
	args := append([]string{"serve", "--data", s.Data, "--listen", s.Addr, "--admin-listen", s.Admin, "--http-listen", s.HTTP,
		"--suffix", testSuffix, "--root-dn", testRootDN, "--log.level", "warn"}, s.args...)
	s.cmd = exec.Command(binary(t), args...)
	s.cmd.Env = append(os.Environ(), "SWITCHBOARD_ROOT_PASSWORD="+testRootPass)
	logf, err := os.CreateTemp("", "switchboard-log")
	if err != nil {
		t.Fatal(err)
	}
	s.log = logf
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Generous: a replica switching multi-supplier replication on for a
	// large directory records every entry before it listens.
	wait := s.startWait
	if wait == 0 {
		wait = 3 * time.Minute
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		// The server binds its ports before it loads the store, and
		// prints its banner once it serves.
		if c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond); err == nil {
			c.Close()
			if strings.Contains(s.Log(), "serving ") {
				return
			}
		}
		if s.cmd.ProcessState != nil {
			break
		}
		if n < 3 && (strings.Contains(s.Log(), "address already in use") || strings.Contains(s.Log(), "give each listener its own address")) {
			s.cmd.Process.Kill()
			s.cmd.Wait()
			t.Logf("a port was taken before switchboard bound it; trying new ports: %s", strings.TrimSpace(s.Log()))
			s.startAttempt(n + 1)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.cmd.Process.Kill() // not left running when the test gives up on it
	s.cmd.Wait()
	t.Fatalf("switchboard did not start listening on %s; log:\n%s", s.Addr, s.Log())
}

// Log returns what the server printed so far.
func (s *testServer) Log() string {
	b, _ := os.ReadFile(s.log.Name())
	return string(b)
}

// Verify runs switchboard verify on the stopped server's store (its index
// and DN keys against its entries) and returns its output.
func (s *testServer) Verify() (string, error) {
	out, err := exec.Command(binary(s.t), "verify", "--data", s.Data, "--suffix", testSuffix, "--log.level", "warn").CombinedOutput()
	return string(out), err
}

// Kill sends SIGKILL and waits for the process to die.
func (s *testServer) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// Restart starts the server again on the same data directory (new ports).
func (s *testServer) Restart() {
	s.Kill()
	s.start()
}

// Stop shuts the server down with SIGTERM, falling back to SIGKILL.
func (s *testServer) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
	if s.log != nil {
		s.log.Close()
		os.Remove(s.log.Name())
	}
}

// ldapTool runs an ldap-utils binary against the server, bound as root
// unless args already carry -D, and returns its combined output and exit
// code. The test is skipped if the tool is not installed.
func (s *testServer) ldapTool(t testing.TB, stdin string, tool string, args ...string) (string, int) {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("%s not installed (apt-get install ldap-utils)", tool)
	}
	full := append([]string{"-H", s.URL, "-x"}, args...)
	hasD := false
	for _, a := range args {
		if a == "-D" {
			hasD = true
		}
	}
	if !hasD {
		full = append(full, "-D", testRootDN, "-w", testRootPass)
	}
	cmd := exec.Command(path, full...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "LDAPTLS_REQCERT=never", "LDAPNOINIT=1")
	out, _ := cmd.CombinedOutput()
	code := 0
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
	}
	return string(out), code
}

// adminDo sends a bodiless admin API request authenticated as the root
// DN (HTTP Basic): every admin route but /healthz, /readyz and loopback
// /metrics needs credentials.
func adminDo(method, url string) (*http.Response, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(testRootDN, testRootPass)
	return http.DefaultClient.Do(req)
}

// lines returns the non-empty lines of s.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}
