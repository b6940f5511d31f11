// Command switchboard is the Switchboard LDAP directory server.
//
//	switchboard serve           run the server
//	switchboard import FILE     load an LDIF file into a new store, offline
//	                            (--format vcard: .vcf into an address book)
//	switchboard export [FILE]   write the whole tree as LDIF
//	switchboard hash-password   print a hash of a password (passwords.scheme)
//	switchboard cert --dir DIR  write a development CA and server certificate
//	switchboard audit verify F  check the hash chain of audit log files
//	switchboard rekey           change the store's encryption key, offline
//	switchboard version         print the version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	runtimemetrics "runtime/metrics"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/spf13/pflag"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

const usage = `Switchboard is an LDAPv3 directory server.

Usage:
  switchboard <command> [flags]

Commands:
  serve          run the LDAP server and the admin HTTP API
  import FILE    bulk-load an LDIF file into a new store (offline, all-or-nothing);
                 with --format vcard --owner DN, .vcf files into a personal address book
  export [FILE]  write every entry as LDIF (to stdout without FILE)
  reindex        build the configured indexes that the store lacks (offline)
  verify         check that every index agrees with the entries (offline)
  rekey          change the encryption key of the store (offline; --old-key-file, --new-key-file)
  audit verify   check the hash chain of audit log files (FILE..., oldest first)
  hash-password  read a password from stdin and print its hash (passwords.scheme)
  cert           write a development CA and a server certificate (--dir DIR)
  replica join   seed a new multi-supplier replica from a running one's snapshot
                 before it takes any write (--from URL; --replace; alias: replica init)
  version        print the version

Run 'switchboard <command> --help' for the flags of a command. Every flag is
also a key of config.yaml and an environment variable: --limits.size is
limits.size in the file and SWITCHBOARD_LIMITS_SIZE in the environment.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	// SWITCHBOARD_CPUPROFILE=FILE writes a CPU profile of the whole command,
	// for profiling import and the like (serve has --admin-pprof);
	// SWITCHBOARD_HEAPPROFILE=FILE a heap profile near its peak heap.
	if path := os.Getenv("SWITCHBOARD_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	if path := os.Getenv("SWITCHBOARD_HEAPPROFILE"); path != "" {
		go peakHeapProfile(ctx, path)
	}
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, pflag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	if cmd != "cert" {
		// cert writes certificates for others to read; everything else
		// writes the store, exports of it and logs.
		privateUmask()
	}
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "import":
		return cmdImport(ctx, rest, stdout, stderr)
	case "export":
		return cmdExport(ctx, rest, stdout, stderr)
	case "verify":
		return cmdVerify(ctx, rest, stdout, stderr)
	case "reindex":
		return cmdReindex(ctx, rest, stdout, stderr)
	case "audit":
		return cmdAudit(ctx, rest, stdout, stderr)
	case "rekey":
		return cmdRekey(ctx, rest, stdout, stderr)
	case "hash-password":
		return cmdHashPassword(ctx, rest, stdin, stdout, stderr)
	case "cert":
		return cmdCert(rest, stdout, stderr)
	case "replica":
		return cmdReplica(ctx, rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "switchboard", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool { return arg == "-h" || arg == "--help" || arg == "help" }

// parseFlags parses a command's flags, printing its help on --help;
// extra adds the command's own flags.
func parseFlags(name, synopsis string, args []string, stderr io.Writer, extra ...func(*pflag.FlagSet)) (*pflag.FlagSet, *Config, error) {
	fs := newFlags(name)
	for _, f := range extra {
		f(fs)
	}
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: switchboard %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
		if _, ok := commandKeys[name]; ok {
			fmt.Fprintf(stderr, "\nThe other configuration keys (switchboard serve --help) are accepted too.\n")
		}
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	cfg, err := loadConfig(fs)
	return fs, cfg, err
}

// peakHeapProfile writes a heap profile to path whenever the heap's
// objects grew by a tenth over those of the last one written, until ctx
// ends: the profile left is of the command's heap near its peak.
func peakHeapProfile(ctx context.Context, path string) {
	sample := []runtimemetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var top uint64
	for ctx.Err() == nil {
		time.Sleep(time.Second)
		runtimemetrics.Read(sample)
		if n := sample[0].Value.Uint64(); n > top+top/10 {
			top = n
			if f, err := os.Create(path); err == nil {
				pprof.WriteHeapProfile(f)
				f.Close()
			}
		}
	}
}
