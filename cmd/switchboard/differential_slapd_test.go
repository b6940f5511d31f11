package main

// The slapd side of differential_test.go: finds an installed OpenLDAP
// (Debian's slapd package), writes a slapd.conf in a temporary directory,
// loads the LDIF with slapadd -q and runs slapd in the foreground on a free
// loopback port for the duration of the test.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// slapdTools are the OpenLDAP programs the differential test needs.
type slapdTools struct {
	slapd, slaptest, slapadd string
	schemaDir                string // holds core.schema, cosine.schema, inetorgperson.schema
	moduleDir                string // holds back_mdb.la, or "" if back-mdb is built in
}

// findSlapd locates slapd, slaptest and slapadd (on PATH or in the usual
// sbin directories) and the stock schema files. ok is false, with the
// reason, when any of them is missing.
func findSlapd() (tools slapdTools, reason string, ok bool) {
	find := func(name string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/local/libexec", "/usr/libexec"} {
			p := filepath.Join(dir, name)
			if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return p
			}
		}
		return ""
	}
	tools.slapd, tools.slaptest, tools.slapadd = find("slapd"), find("slaptest"), find("slapadd")
	switch {
	case tools.slapd == "":
		return tools, "slapd not found", false
	case tools.slaptest == "":
		return tools, "slaptest not found", false
	case tools.slapadd == "":
		return tools, "slapadd not found", false
	}
	for _, dir := range []string{"/etc/ldap/schema", "/etc/openldap/schema", "/usr/local/etc/openldap/schema"} {
		if _, err := os.Stat(filepath.Join(dir, "inetorgperson.schema")); err == nil {
			tools.schemaDir = dir
			break
		}
	}
	if tools.schemaDir == "" {
		return tools, "OpenLDAP schema files (inetorgperson.schema) not found", false
	}
	for _, dir := range []string{"/usr/lib/ldap", "/usr/lib64/openldap", "/usr/lib/openldap", "/usr/local/libexec/openldap"} {
		if _, err := os.Stat(filepath.Join(dir, "back_mdb.la")); err == nil {
			tools.moduleDir = dir
			break
		}
	}
	return tools, "", true
}

// slapdServer is a running slapd.
type slapdServer struct {
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
	log  string // slapd's stdout and stderr
}

func (s *slapdServer) output() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

// slapdConfig makes a directory for a slapd and its mdb database (db), and
// begins its slapd.conf: the stock core, cosine and inetorgperson schemas,
// extraSchema, and back_mdb plus the given modules when slapd loads
// modules.
func slapdConfig(t *testing.T, tools slapdTools, extraSchema string, modules ...string) (dir, db string, conf *strings.Builder) {
	t.Helper()
	dir = t.TempDir()
	db = filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o700); err != nil {
		t.Fatal(err)
	}
	conf = &strings.Builder{}
	for _, s := range []string{"core", "cosine", "inetorgperson"} {
		fmt.Fprintf(conf, "include %s\n", filepath.Join(tools.schemaDir, s+".schema"))
	}
	fmt.Fprintf(conf, "include %s\n", extraSchema)
	if tools.moduleDir != "" {
		fmt.Fprintf(conf, "modulepath %s\nmoduleload back_mdb\n", tools.moduleDir)
		for _, m := range modules {
			fmt.Fprintf(conf, "moduleload %s\n", m)
		}
	}
	return dir, db, conf
}

// startSlapd configures slapd in t.TempDir() with the stock core, cosine
// and inetorgperson schemas plus extraSchema, loads ldifPath with slapadd
// and starts slapd. overlays (e.g. "sssvlv") are loaded as modules when
// slapd has a module directory and configured on the database. It is
// stopped when the test ends.
func startSlapd(t *testing.T, tools slapdTools, extraSchema, ldifPath string, overlays ...string) *slapdServer {
	t.Helper()
	dir, db, conf := slapdConfig(t, tools, extraSchema, overlays...)
	fmt.Fprintf(conf, `pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
loglevel 0
sizelimit unlimited
threads 4
tool-threads 1
database mdb
suffix "dc=example,dc=com"
rootdn "cn=admin,dc=example,dc=com"
rootpw secret
directory %[2]s
maxsize 104857600
index objectClass eq
index uid,cn,sn,mail eq,sub
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
`, dir, db)
	for _, o := range overlays {
		fmt.Fprintf(conf, "overlay %s\n", o)
	}
	confPath := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tools.slaptest, "-f", confPath, "-u").CombinedOutput(); err != nil {
		t.Fatalf("slaptest: %v\n%s\nslapd.conf:\n%s", err, out, conf.String())
	}
	if out, err := exec.Command(tools.slapadd, "-q", "-f", confPath, "-l", ldifPath).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}

	addr := freePort(t)
	s := &slapdServer{URL: "ldap://" + addr, done: make(chan struct{}), log: filepath.Join(dir, "slapd.log")}
	logf, err := os.Create(s.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	// -d 0 keeps slapd in the foreground (any -d disables detaching), so
	// the test owns the process and its exit.
	s.cmd = exec.Command(tools.slapd, "-f", confPath, "-h", "ldap://"+addr+"/", "-d", "0")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.stop)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("slapd exited: %v\n%s", s.cmd.ProcessState, s.output())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("slapd did not listen on %s:\n%s", addr, s.output())
	return nil
}

func (s *slapdServer) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}
