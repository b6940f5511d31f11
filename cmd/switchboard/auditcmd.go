package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/switchboard-ldap/switchboard/directory/overlay/audit"
)

const auditUsage = `Usage: switchboard audit verify [--head HEX] FILE...

Checks the hash chain of audit log files (see directory/overlay/audit).
Give the files oldest first: audit.log.N ... audit.log.1 audit.log.
Exits 0 with a summary when the chain is intact, 1 naming the first broken
record (file and lines) otherwise.

Flags:
`

// cmdAudit runs the audit subcommands: verify.
func cmdAudit(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, auditUsage)
		return pflag.ErrHelp
	}
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprint(stderr, auditUsage)
		if len(args) == 0 {
			return errors.New("audit: no subcommand given")
		}
		return fmt.Errorf("audit: unknown subcommand %q", args[0])
	}
	fs := pflag.NewFlagSet("audit verify", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	head := fs.String("head", "", "the chain value the last record must have (as logged by the server), to detect records cut off the end")
	fs.Usage = func() {
		fmt.Fprint(stderr, auditUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("audit verify: no files given")
	}
	var files []audit.File
	for _, name := range fs.Args() {
		b, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("audit verify: %w", err)
		}
		files = append(files, audit.File{Name: name, Data: b})
	}
	sum, err := audit.Verify(files)
	if err != nil {
		return fmt.Errorf("audit verify: FAILED after %d intact records: %w", sum.Records, err)
	}
	if *head != "" && sum.Head.String() != *head {
		return fmt.Errorf("audit verify: FAILED: the chain ends at %s, not at %s: records were cut off the end or the files are not the ones expected", sum.Head, *head)
	}
	from := "the genesis value"
	if sum.Start != audit.Genesis {
		from = sum.Start.String() + " (continuing an older file not given)"
	}
	fmt.Fprintf(stdout, "audit verify: OK: %d records in %d files, chained from %s; head %s\n", sum.Records, sum.Files, from, sum.Head)
	return nil
}
