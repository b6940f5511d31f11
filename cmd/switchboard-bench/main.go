// Command switchboard-bench is a closed-loop load generator for LDAPv3
// servers (Switchboard, OpenLDAP slapd, ...). Each of -conns connections
// sends one request at a time, encoded by hand in BER (the client costs a
// few microseconds of CPU per operation, so it does not cap the server on a
// small machine), reads the responses up to the final one for its message
// ID, and records the latency. It prints throughput, latency percentiles,
// non-success result codes and, with -server-pid, the server's CPU time per
// operation and its resident memory.
//
// Operations (-op):
//
//	eq           (uid=<random uid>), subtree from -base
//	sub          (cn=*smith*)
//	presence     (mail=*) with size limit 100 (sizeLimitExceeded counts as success)
//	and          (&(objectClass=inetOrgPerson)(uid=<uid>))
//	or           (|(uid=<uid>)(mail=<another person's mail>))
//	thunderbird  (|(cn=ab*)(mail=ab*)(sn=ab*)), size limit 100
//	outlook      (&(mail=*)(|(mail=ab*)(|(cn=ab*)(|(sn=ab*)(givenName=ab*))))), size limit 100
//	onelevel     (objectClass=*), one level below -base, size limit 100
//	paged        (objectClass=inetOrgPerson) from -base, the first page of 100 (RFC 2696)
//	sortpage     (objectClass=inetOrgPerson) from -base sorted by sn (caseIgnoreOrderingMatch,
//	             critical), size limit 20: the first screen of a sorted address book
//	base         base-scope read of a random person's DN
//	bind         simple bind of a random person with password "password",
//	             on the same connection (rebind)
//	modify       replace description of a random person; connection i uses
//	             only persons j with j mod conns == i
//	adddel       add a new inetOrgPerson, then delete it (one op = both)
//	mix          90 % eq, 10 % modify
//	sort         -filter (default (objectClass=inetOrgPerson)) sorted by
//	             -sort-key (default displayName; "-attr" reverses), critical
//	             control, size limit 100: every request gathers and sorts
//	             the whole result
//	vlv          the same search as an address book's browse: a window of 20
//	             entries (VLV, byOffset) at a random offset
//
// The server's RSS is sampled every 100 ms during the run and the highest
// value reported (rss max), which is what the sort and vlv operations
// stress: 32 concurrent ordinary-user sorts over 100,000 people are
//
//	switchboard-bench -op vlv -conns 32 -data people.ldif -bind-dn <user> -bind-pw <pw> \
//	    -server-pid $(pgrep -n switchboard)
//
// with the server's limits.sort_candidates at or above the people count.
//
// The uids, mails, DNs and two-letter prefixes (first two letters of the
// mail address) come from the people (inetOrgPerson entries) of -data,
// shuffled with -seed, so a run is reproducible. Searches pick only people
// who lie within -base.
//
// Example:
//
//	switchboard-bench -addr 127.0.0.1:3389 -data people.ldif -op eq -conns 8 \
//	    -bind-dn cn=admin,dc=example,dc=com -bind-pw secret -server-pid $(pgrep -n switchboard)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	if err := mainErr(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "switchboard-bench:", err)
		os.Exit(1)
	}
}

func mainErr(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("switchboard-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg       config
		dataPath  string
		attrs     string
		jsonOut   bool
		tsvOut    bool
		seed      uint64
		serverPID int
	)
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:3389", "server `host:port`")
	fs.IntVar(&cfg.Conns, "conns", 8, "concurrent connections, one request in flight each")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured time (unless -ops)")
	fs.Int64Var(&cfg.Ops, "ops", 0, "measured operations in total (0: run for -duration)")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "unmeasured load before the measurement")
	fs.StringVar(&cfg.Op, "op", "eq", "operation: "+strings.Join(opNames, ", "))
	fs.StringVar(&cfg.BindDN, "bind-dn", "", "DN each connection binds as before the loop (empty: anonymous)")
	fs.StringVar(&cfg.BindPW, "bind-pw", "", "password for -bind-dn")
	fs.StringVar(&cfg.Base, "base", "dc=example,dc=com", "search base")
	fs.StringVar(&dataPath, "data", "", "LDIF file to take uids, mails and DNs from (required but for sub and presence)")
	fs.Uint64Var(&seed, "seed", 1, "random seed (data order and request choice)")
	fs.IntVar(&cfg.SizeLimit, "sizelimit", -1, "search size limit (-1: 100 for presence, thunderbird, outlook; 0 otherwise)")
	fs.StringVar(&attrs, "attrs", "", "comma-separated attributes to request (empty: all user attributes)")
	fs.IntVar(&serverPID, "server-pid", 0, "server process to report CPU per operation and RSS for")
	fs.StringVar(&cfg.SortKey, "sort-key", "displayName", "sort and vlv: sort key (\"-attr\" for reverse order)")
	fs.StringVar(&cfg.Filter, "filter", "", "sort and vlv: search filter (default (objectClass=inetOrgPerson))")
	fs.BoolVar(&jsonOut, "json", false, "print the result as JSON")
	fs.BoolVar(&tsvOut, "tsv", false, "print one tab-separated line: "+strings.Join(tsvFields, " "))
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg.Seed, cfg.ServerPID = seed, serverPID
	if attrs != "" {
		cfg.Attrs = strings.Split(attrs, ",")
	}
	if dataPath != "" {
		ds, err := loadData(dataPath, seed)
		if err != nil {
			return fmt.Errorf("loading %s: %w", dataPath, err)
		}
		cfg.Data = ds
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := run(ctx, &cfg)
	if err != nil {
		return err
	}
	if jsonOut {
		enc := json.NewEncoder(stdout)
		return enc.Encode(res)
	}
	if tsvOut {
		_, err = io.WriteString(stdout, res.tsv())
		return err
	}
	_, err = io.WriteString(stdout, res.format())
	return err
}
