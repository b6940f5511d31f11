package main

// The README's shell examples, checked: every ```sh block is read as a
// shell would split it (quotes, backslash continuations, comments,
// pipes, ;, &&, > and here-documents), then each command is checked as
// far as a test can without a network or a running server.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// readmeCommand is one simple command of a README shell block.
type readmeCommand struct {
	line    int      // README line it starts on
	env     []string // leading NAME=value words
	args    []string
	stdout  string // target of >, if any
	stdin   *readmeCommand
	comment string // the # comment ending its line, if it is the last command there
}

// readmeShellCommands returns the commands of the ```sh blocks of a
// Markdown text, in order.
func readmeShellCommands(text string) ([]readmeCommand, error) {
	lines := strings.Split(text, "\n")
	var out []readmeCommand
	inBlock := false
	heredoc := ""
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		switch {
		case !inBlock && strings.HasPrefix(line, "```sh"):
			inBlock = true
			continue
		case !inBlock:
			continue
		case heredoc != "":
			if strings.TrimSpace(line) == heredoc {
				heredoc = ""
			}
			continue
		case strings.HasPrefix(line, "```"):
			inBlock = false
			continue
		}
		start := i + 1
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, "\\") + " " + lines[i]
		}
		cmds, marker, err := splitShellLine(line, start)
		if err != nil {
			return nil, err
		}
		heredoc = marker
		out = append(out, cmds...)
	}
	if inBlock {
		return nil, errors.New("README: unterminated ```sh block")
	}
	return out, nil
}

var shellAssignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// splitShellLine splits one logical line into simple commands; marker is
// the delimiter of a here-document starting on it.
func splitShellLine(line string, lineNo int) (cmds []readmeCommand, marker string, err error) {
	var (
		words   []string
		word    strings.Builder
		inWord  bool
		next    string // "": a word; ">": a redirect target; "<<": a here-doc marker
		target  string
		pipeIn  *readmeCommand
		comment string
	)
	endWord := func() {
		if !inWord {
			return
		}
		switch next {
		case ">":
			target = word.String()
		case "<<":
			marker = word.String()
		default:
			words = append(words, word.String())
		}
		next = ""
		word.Reset()
		inWord = false
	}
	endCommand := func(piped bool) {
		endWord()
		c := readmeCommand{line: lineNo, stdout: target, stdin: pipeIn}
		for len(words) > 0 && len(c.args) == 0 && shellAssignment.MatchString(words[0]) {
			c.env, words = append(c.env, words[0]), words[1:]
		}
		c.args = words
		words, target, pipeIn = nil, "", nil
		if len(c.args) == 0 && len(c.env) == 0 {
			return
		}
		cmds = append(cmds, c)
		if piped {
			pipeIn = &cmds[len(cmds)-1]
		}
	}
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case ch == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, "", errors.New("unterminated ' quote")
			}
			word.WriteString(line[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case ch == '"':
			inWord = true
			for i++; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) {
					i++
				}
				word.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, "", errors.New(`unterminated " quote`)
			}
		case ch == '\\' && i+1 < len(line):
			i++
			word.WriteByte(line[i])
			inWord = true
		case ch == ' ' || ch == '\t':
			endWord()
		case ch == '#' && !inWord:
			comment = strings.TrimSpace(line[i+1:])
			i = len(line)
		case ch == '|' && strings.HasPrefix(line[i:], "||"), ch == '&' && strings.HasPrefix(line[i:], "&&"):
			endCommand(false)
			i++
		case ch == '|':
			endCommand(true)
		case ch == ';':
			endCommand(false)
		case ch == '<' && strings.HasPrefix(line[i:], "<<"):
			endWord()
			next = "<<"
			i++
		case ch == '>':
			endWord()
			next = ">"
		default:
			word.WriteByte(ch)
			inWord = true
		}
	}
	endCommand(false)
	if len(cmds) > 0 {
		cmds[len(cmds)-1].comment = comment
	}
	return cmds, marker, nil
}

// switchboardArgs returns the arguments of a switchboard invocation
// (`switchboard ...` or `go run ./cmd/switchboard ...`).
func (c readmeCommand) switchboardArgs() ([]string, bool) {
	switch {
	case len(c.args) >= 1 && c.args[0] == "switchboard":
		return c.args[1:], true
	case len(c.args) >= 3 && c.args[0] == "go" && c.args[1] == "run" && strings.TrimSuffix(c.args[2], "/") == "./cmd/switchboard":
		return c.args[3:], true
	}
	return nil, false
}

// readmeOffline lists the subcommands the test runs for real.
var readmeOffline = map[string]bool{"cert": true, "hash-password": true, "version": true, "import": true, "export": true, "verify": true}

// readmePath reports whether a word names a file: a path with a slash,
// or a name with a file extension the README uses; not a URL, DN,
// filter, flag, glob or variable.
func readmePath(w string) bool {
	if strings.HasPrefix(w, "-") || strings.ContainsAny(w, ":=$*<>(){}'\" ,") || strings.Contains(w, "...") {
		return false
	}
	return strings.Contains(w, "/") || slices.Contains(readmeFileExts, filepath.Ext(w))
}

var readmeFileExts = []string{".ldif", ".pem", ".yaml", ".yml", ".json", ".schema", ".sh", ".log"}

// readmeReaderFiles are files the README expects the reader to bring:
// the client certificate of the SASL EXTERNAL example, which no command
// of this repository makes.
var readmeReaderFiles = []string{"admin.pem", "admin-key.pem"}

// readmeWords returns the words of c that may name files: its arguments,
// the values of --flag=value and of its environment assignments.
func (c readmeCommand) readmeWords() []string {
	var out []string
	for _, w := range c.args {
		if strings.HasPrefix(w, "--") {
			if _, v, ok := strings.Cut(w, "="); ok {
				w = v
			}
		}
		out = append(out, w)
	}
	for _, kv := range c.env {
		_, v, _ := strings.Cut(kv, "=")
		out = append(out, v)
	}
	return out
}

// TestREADMEShellCommands checks every command of README.md's ```sh
// blocks: each switchboard invocation's subcommand and flags are
// accepted (the same arguments plus --help exit 0), the offline ones
// (cert, hash-password, version, import, export, verify) run in a
// scratch directory, every file a command names exists (in the
// repository, or made by an earlier command), and every fuzz target a
// `go test -fuzz` line names exists. Servers (serve) only get the flag
// check, and ldap-utils and curl lines only the file check.
func TestREADMEShellCommands(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	problems, stats := checkREADMEShell(t, root, string(text))
	for _, p := range problems {
		t.Error(p)
	}
	if stats.checked == 0 || stats.ran == 0 {
		t.Errorf("checked %d switchboard commands and ran %d: the README's blocks were not found", stats.checked, stats.ran)
	}
	t.Logf("%d commands, %d switchboard invocations, %d run", stats.commands, stats.checked, stats.ran)
}

// TestREADMEShellCheckFindsMistakes: the check above reports each kind
// of mistake the README once had or could have.
func TestREADMEShellCheckFindsMistakes(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	md := "```sh\n" +
		"go run ./cmd/switchboard import --data ./d people.ldif\n" +
		"go run ./cmd/switchboard import --data ./d testdata/people.ldif\n" +
		"echo -n pw | go run ./cmd/switchboard hash-password   # {SSHA512}...\n" +
		"go run ./cmd/switchboard serve --no-such-flag\n" +
		"go run ./cmd/switchboard frobnicate\n" +
		"go run ./cmd/switchboard export --data ./missing > x.ldif\n" +
		"bash cmd/switchboard-bench/nothing.sh\n" +
		"go test ./ldap -run '^$' -fuzz FuzzNothingHere\n" +
		"```\n"
	problems, _ := checkREADMEShell(t, root, md)
	all := strings.Join(problems, "\n")
	for _, want := range []string{
		"README.md:2: go run ./cmd/switchboard import --data ./d people.ldif: exit 1",
		"README.md:2: go run ./cmd/switchboard import --data ./d people.ldif: people.ldif exists neither",
		"README.md:3: go run ./cmd/switchboard import --data ./d testdata/people.ldif: testdata/people.ldif exists neither",
		"README.md:4: go run ./cmd/switchboard hash-password: prints \"{ARGON2}",
		"README.md:5: go run ./cmd/switchboard serve --no-such-flag: with --help: exit 1",
		"README.md:6: go run ./cmd/switchboard frobnicate: with --help: exit 1",
		"README.md:7: go run ./cmd/switchboard export --data ./missing: exit 1",
		"README.md:8: bash cmd/switchboard-bench/nothing.sh: cmd/switchboard-bench/nothing.sh exists neither",
		"README.md:9: go test ./ldap -run ^$ -fuzz FuzzNothingHere: no func FuzzNothingHere in ./ldap",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("not reported: %s", want)
		}
	}
	if t.Failed() {
		t.Logf("reported:\n%s", all)
	}
}

type readmeStats struct{ commands, checked, ran int }

// checkREADMEShell checks the commands of text's ```sh blocks from a
// scratch directory, with the repository at root; it returns what is
// wrong.
func checkREADMEShell(t *testing.T, root, text string) (problems []string, stats readmeStats) {
	t.Helper()
	cmds, err := readmeShellCommands(text)
	if err != nil {
		t.Fatal(err)
	}
	stats.commands = len(cmds)
	work := t.TempDir()
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	bin := binary(t)
	exists := func(p string) bool {
		for _, dir := range []string{work, root} {
			if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
				return true
			}
		}
		return false
	}
	// inRepo makes a path the repository holds absolute, so that the
	// command finds it from the scratch directory.
	inRepo := func(args []string) []string {
		out := make([]string, len(args))
		for i, a := range args {
			out[i] = a
			if readmePath(a) {
				if _, err := os.Stat(filepath.Join(work, a)); err != nil {
					if _, err := os.Stat(filepath.Join(root, a)); err == nil {
						out[i] = filepath.Join(root, a)
					}
				}
			}
		}
		return out
	}
	run := func(c readmeCommand, args []string, stdin string) (string, string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = work
		cmd.Env = cliEnv(c.env...)
		cmd.Stdin = strings.NewReader(stdin)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var xe *exec.ExitError
		if err != nil && !errors.As(err, &xe) {
			t.Fatal(err)
		}
		return o.String(), e.String(), cmd.ProcessState.ExitCode()
	}

	for _, c := range cmds {
		where := "README.md:" + strconv.Itoa(c.line) + ": " + strings.Join(c.args, " ")
		if args, ok := c.switchboardArgs(); ok {
			stats.checked++
			if len(args) == 0 {
				report("%s: no subcommand", where)
				continue
			}
			if _, errOut, code := run(c, append(append([]string{}, args...), "--help"), ""); code != 0 {
				report("%s: with --help: exit %d: %s", where, code, firstLine(errOut))
			}
			if readmeOffline[args[0]] {
				stats.ran++
				stdin := ""
				if p := c.stdin; p != nil && len(p.args) > 0 && p.args[0] == "echo" {
					stdin = strings.Join(slices.DeleteFunc(slices.Clone(p.args[1:]), func(w string) bool { return w == "-n" }), " ")
				}
				out, errOut, code := run(c, inRepo(args), stdin)
				if code != 0 {
					report("%s: exit %d: %s", where, code, strings.TrimSpace(errOut))
				}
				if c.stdout != "" {
					if err := os.WriteFile(filepath.Join(work, c.stdout), []byte(out), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				// A comment giving the output's scheme, like {ARGON2}, must
				// match it.
				if scheme, _, ok := strings.Cut(c.comment, "}"); ok && strings.HasPrefix(c.comment, "{") &&
					!strings.HasPrefix(out, scheme+"}") {
					report("%s: prints %q; the README says %s...", where, firstLine(out), scheme+"}")
				}
				if args[0] == "export" && !strings.Contains(out, "\ndn: ") && !strings.HasPrefix(out, "dn: ") {
					report("%s: exported no entries", where)
				}
			}
		}
		for _, w := range c.readmeWords() {
			if readmePath(w) && !exists(w) && !slices.Contains(readmeReaderFiles, w) {
				report("%s: %s exists neither in the repository nor as the output of an earlier command", where, w)
			}
		}
		// go test ./pkg -run '^$' -fuzz FuzzName: the target exists.
		if len(c.args) > 2 && c.args[0] == "go" && c.args[1] == "test" {
			for i, a := range c.args {
				if a != "-fuzz" || i+1 >= len(c.args) || !readmePath(c.args[2]) {
					continue
				}
				if !fuzzTargetExists(t, filepath.Join(root, c.args[2]), c.args[i+1]) {
					report("%s: no func %s in %s", where, c.args[i+1], c.args[2])
				}
			}
		}
	}
	return problems, stats
}

// fuzzTargetExists reports whether a _test.go file of dir declares the
// fuzz function name.
func fuzzTargetExists(t *testing.T, dir, name string) bool {
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("func "+name+"(")) {
			return true
		}
	}
	return false
}

// TestREADMEShellSplit: the splitter of readmeShellCommands.
func TestREADMEShellSplit(t *testing.T) {
	md := "x\n```sh\nA=1 B='two words' go run ./cmd/switchboard export --data ./d > out.ldif   # note\n" +
		"echo -n 'pw' | switchboard hash-password; ls a\\ b && true\n" +
		"cat <<'EOF'\nnot a command\nEOF\nfoo --x \\\n  --y \"q\\\"z\" ''\n```\nnot sh\n"
	cmds, err := readmeShellCommands(md)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cmds {
		s := strings.Join(c.env, ",") + "|" + strings.Join(c.args, ",") + "|" + c.stdout + "|" + c.comment
		if c.stdin != nil {
			s += "|<" + c.stdin.args[0]
		}
		got = append(got, strconv.Itoa(c.line)+":"+s)
	}
	want := []string{
		"3:A=1,B=two words|go,run,./cmd/switchboard,export,--data,./d|out.ldif|note",
		"4:|echo,-n,pw||",
		"4:|switchboard,hash-password|||<echo",
		"4:|ls,a b||",
		"4:|true||",
		"5:|cat||",
		"8:|foo,--x,--y,q\"z,||",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}
