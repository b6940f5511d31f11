package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/ldif"
	"github.com/switchboard-ldap/switchboard/directory/password"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/web/carddav"
)

// importMaxRecord bounds one LDIF record in an offline import: a group of a
// million members is a 45 MB record, which an import must take although no
// LDAP request could carry it.
const importMaxRecord = 512 << 20

// cmdImport bulk-loads LDIF offline. It is all-or-nothing: the entries go
// into a fresh store beside the data directory, which replaces the data
// directory only when every record loaded. The target must not hold a
// store already (import into a running server with ldapadd instead).
func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var format, book, owner string
	fs, cfg, err := parseFlags("import", "import [flags] FILE.ldif | import --format vcard --owner DN [--addressbook BOOK] FILE.vcf...", args, stderr, func(fs *pflag.FlagSet) {
		fs.StringVar(&format, "format", "ldif", "ldif (a new store) or vcard (cards into a personal address book of an existing store)")
		fs.StringVar(&owner, "owner", "", "with --format vcard: the DN of the user whose address book takes the cards")
		fs.StringVar(&book, "addressbook", "contacts", "with --format vcard: the personal address book, created if missing")
	})
	if err != nil {
		return err
	}
	switch {
	case format != "ldif" && format != "vcard":
		return fmt.Errorf("import: --format %q: want ldif or vcard", format)
	case format == "vcard":
		if owner == "" || fs.NArg() == 0 {
			fs.Usage()
			return errors.New("import --format vcard needs --owner and at least one .vcf file ('-' for stdin)")
		}
		return importVCards(ctx, cfg, owner, book, fs.Args(), stdout, stderr)
	case owner != "" || fs.Changed("addressbook"):
		return errors.New("import: --owner and --addressbook are for --format vcard")
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("import needs exactly one LDIF file ('-' for stdin)")
	}
	var in io.Reader = os.Stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	if _, err := os.Stat(filepath.Join(cfg.Data, "MANIFEST")); err == nil {
		return fmt.Errorf("%s already holds a store; import loads a new one (move it away, or use ldapadd against the server)", cfg.Data)
	}
	tmp := filepath.Clean(cfg.Data) + ".importing"
	if err := removeStaleImport(tmp, stderr); err != nil {
		return err
	}
	log := cfg.logger()
	// No fsync per entry: the store is synced once at the end, and a crash
	// midway leaves only the temporary directory behind.
	eng, err := openEngine(cfg, log, tmp, true, true)
	if err != nil {
		return err
	}
	start := time.Now()
	var progress func(int)
	if isTerminal(stderr) {
		last := start
		progress = func(n int) {
			if time.Since(last) < 500*time.Millisecond {
				return
			}
			last = time.Now()
			fmt.Fprintf(stderr, "\rimported %d entries (%.0f/s)", n, float64(n)/time.Since(start).Seconds())
		}
	}
	loader, err := eng.NewLoader(filepath.Join(tmp, "import-runs"))
	if err != nil {
		eng.Close()
		os.RemoveAll(tmp)
		return err
	}
	rd := ldif.NewReader(bufio.NewReaderSize(in, 1<<20), ldif.ReaderOptions{AllowURLs: cfg.LDIF.AllowURLs, MaxRecordBytes: importMaxRecord})
	n, err := loader.Load(directory.WithIdentity(ctx, cfg.RootDN), importRecords(rd), runtime.GOMAXPROCS(0), progress)
	if progress != nil {
		fmt.Fprintln(stderr)
	}
	if err == nil {
		log.Info("import: entries checked and indexed, writing the store", "entries", n, "elapsed", time.Since(start).Round(time.Millisecond))
		err = loader.Finish()
	} else {
		loader.Cancel()
	}
	if cerr := eng.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("import failed, nothing was imported: %w", err)
	}
	// Keep a generated root password hash that serve may have written.
	if b, err := os.ReadFile(filepath.Join(cfg.Data, "root-password.hash")); err == nil {
		os.WriteFile(filepath.Join(tmp, "root-password.hash"), b, 0o600)
	}
	if err := os.RemoveAll(cfg.Data); err != nil {
		return err
	}
	if err := os.Rename(tmp, cfg.Data); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d entries into %s in %s\n", n, cfg.Data, time.Since(start).Round(time.Millisecond))
	return nil
}

// importRecords yields the entry records of an LDIF input for
// Loader.Load; a change record other than an add stops it.
func importRecords(rd *ldif.Reader) iter.Seq2[directory.LoadRecord, error] {
	return func(yield func(directory.LoadRecord, error) bool) {
		for {
			rec, err := rd.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err == nil && rec.ChangeType != "" && rec.ChangeType != ldif.ChangeAdd {
				err = fmt.Errorf("line %d: import takes entries, not %q change records (use ldapmodify)", rec.Line, rec.ChangeType)
			}
			if err != nil {
				yield(directory.LoadRecord{}, err)
				return
			}
			if !yield(directory.LoadRecord{DN: rec.DN, Attrs: slices.Clone(rec.Attrs), Line: rec.Line}, nil) {
				return
			}
		}
	}
}

// cmdExport writes the whole tree as LDIF, parents first; with --format
// vcard, the people (inetOrgPerson) of a subtree as one .vcf.
func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var format, base, version string
	fs, cfg, err := parseFlags("export", "export [flags] [FILE.ldif | FILE.vcf]", args, stderr, func(fs *pflag.FlagSet) {
		fs.StringVar(&format, "format", "ldif", "ldif (every entry) or vcard (the people of --base, as CardDAV serves them)")
		fs.StringVar(&base, "base", "", "with --format vcard: the subtree to export (default: the suffix)")
		fs.StringVar(&version, "vcard-version", "3.0", "with --format vcard: 3.0 or 4.0")
	})
	if err != nil {
		return err
	}
	switch {
	case format != "ldif" && format != "vcard":
		return fmt.Errorf("export: --format %q: want ldif or vcard", format)
	case format == "ldif" && base != "":
		return errors.New("export: --base is for --format vcard")
	case version != carddav.Version3 && version != carddav.Version4:
		return fmt.Errorf("export: --vcard-version %q: want 3.0 or 4.0", version)
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return errors.New("export takes at most one file")
	}
	// The store first: a missing one must not leave an empty export.
	eng, err := openExisting(cfg, cfg.logger())
	if err != nil {
		return err
	}
	defer eng.Close()
	out := stdout
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		f, err := os.Create(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	if format == "vcard" {
		return exportVCards(ctx, eng, base, version, out)
	}
	w := ldif.NewWriter(out)
	err = eng.Walk(ctx, func(en *directory.Entry) error {
		return w.WriteEntry(en.DN, en.Attrs)
	})
	if err != nil {
		return err
	}
	return w.Flush()
}

// cmdHashPassword reads one line and prints its hash in the configured
// scheme (passwords.scheme, default Argon2id), for root_password_file and
// for userPassword values in LDIF.
func cmdHashPassword(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	_, cfg, err := parseFlags("hash-password", "hash-password [flags] < password", args, stderr)
	if err != nil {
		return err
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	if line == "" {
		return errors.New("hash-password: empty password on stdin")
	}
	h, err := password.NewHasher(cfg.passwordConfig()).Hash(ctx, []byte(line))
	if err != nil {
		return fmt.Errorf("hash-password: %w", err)
	}
	fmt.Fprintf(stdout, "%s\n", h)
	return nil
}

// cmdReindex builds, offline, the indexes that the configuration names and
// the store does not hold yet (serve would build them in the background),
// and drops those it no longer names.
func cmdReindex(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	_, cfg, err := parseFlags("reindex", "reindex [flags]", args, stderr)
	if err != nil {
		return err
	}
	start := time.Now()
	eng, err := openExisting(cfg, cfg.logger())
	if err != nil {
		return err
	}
	err = eng.WaitIndexes(ctx)
	if err == nil {
		err = eng.Sync()
	}
	if cerr := eng.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	done, _ := eng.IndexBuild()
	fmt.Fprintf(stdout, "indexes up to date (%d entries indexed) in %s\n", done, time.Since(start).Round(time.Millisecond))
	return nil
}

// cmdVerify recomputes every index key from the entries and compares them
// with the store's, offline; it fails if they differ.
func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	_, cfg, err := parseFlags("verify", "verify [flags]", args, stderr)
	if err != nil {
		return err
	}
	eng, err := openExisting(cfg, cfg.logger())
	if err != nil {
		return err
	}
	defer eng.Close()
	if err := eng.WaitIndexes(ctx); err != nil {
		return err
	}
	rep, err := eng.Verify(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "entries %d, index keys %d, missing %d, stray %d, DN or child keys astray %d; store format %d\n",
		rep.Entries, rep.Keys, rep.Missing, rep.Stray, rep.Orphans, eng.FormatVersion())
	if !rep.Agrees() {
		return errors.New("the indexes do not agree with the entries; run 'switchboard reindex' after moving the index definitions away, or restore from an export")
	}
	return nil
}

// exportVCards writes the inetOrgPerson entries at or below base as
// vCards (package web/carddav's mapping), one after another.
func exportVCards(ctx context.Context, eng *directory.Engine, base, version string, out io.Writer) error {
	if base == "" {
		base = eng.Suffix()
	}
	nbase, err := eng.NormalizeDN(base)
	if err != nil {
		return fmt.Errorf("export: --base %q: %w", base, err)
	}
	bw := bufio.NewWriter(out)
	err = eng.Walk(ctx, func(en *directory.Entry) error {
		if en.NDN != nbase && !ldap.IsBelowNDN(en.NDN, nbase) {
			return nil
		}
		attrs := carddav.Attrs{}
		person := false
		for _, a := range en.Attrs {
			name := strings.ToLower(a.Name)
			for _, v := range a.Values {
				attrs[name] = append(attrs[name], string(v))
				if name == "objectclass" && strings.EqualFold(string(v), "inetOrgPerson") {
					person = true
				}
			}
		}
		if !person {
			return nil
		}
		_, err := bw.Write(carddav.PersonCard(attrs, version).Encode())
		return err
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}
