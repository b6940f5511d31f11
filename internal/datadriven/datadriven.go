// Package datadriven runs tests written as files of cases: each case is
// a command line, input lines, a separator and the expected output. The
// test turns command and input into output; the harness compares.
//
// A file reads
//
//	# a comment
//	command arg key=value key=(a,b)
//	input line
//	...
//	----
//	expected output
//	...
//
// The expected output ends at the first blank line. Output that holds
// blank lines is written between doubled separators (and so cannot itself
// hold a line "----" followed by another):
//
//	----
//	----
//	output
//
//	with a blank line
//	----
//	----
//
// With the environment variable DATADRIVEN_REWRITE=1 the files are
// rewritten with the output the test produced, for review in the diff.
package datadriven

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A Case is one test case of a file.
type Case struct {
	Pos   string // file:line of the command, for messages
	Cmd   string
	Args  []Arg
	Input string // the input lines, joined by "\n"
	// Expected is the output the file records.
	Expected string
}

// An Arg is one argument of the command: key, or key=value, or
// key=(v1,v2).
type Arg struct {
	Key  string
	Vals []string
}

// Arg returns the values of the argument key and whether it is there.
func (c *Case) Arg(key string) ([]string, bool) {
	for _, a := range c.Args {
		if a.Key == key {
			return a.Vals, true
		}
	}
	return nil, false
}

// Value returns the single value of the argument key, or def.
func (c *Case) Value(key, def string) string {
	if v, ok := c.Arg(key); ok && len(v) > 0 {
		return v[0]
	}
	return def
}

// Walk runs RunFile for every file under path (a file or a directory),
// each as a subtest named after the file.
func Walk(t *testing.T, path string, run func(*testing.T, *Case) string) {
	t.Helper()
	var files []string
	err := filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("datadriven: no files under %s", path)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { RunFile(t, f, run) })
	}
}

// RunFile runs every case of file through run and fails t where the
// output differs from the one recorded (or rewrites the file, see the
// package documentation).
func RunFile(t *testing.T, file string, run func(*testing.T, *Case) string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := parse(file, string(b))
	if err != nil {
		t.Fatal(err)
	}
	rewrite := os.Getenv("DATADRIVEN_REWRITE") == "1"
	outputs := make([]string, len(cases))
	for i, c := range cases {
		got := strings.TrimRight(run(t, c.Case), "\n")
		outputs[i] = got
		if !rewrite && got != c.Expected {
			t.Errorf("%s: %s\n%s\ngot:\n%s\nwant:\n%s", c.Pos, c.Cmd, c.Input, got, c.Expected)
		}
	}
	if rewrite {
		if err := os.WriteFile(file, []byte(render(string(b), cases, outputs)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// render returns text, parsed into cases, with their outputs replaced.
func render(text string, cases []parsed, outputs []string) string {
	var b strings.Builder
	for i, c := range cases {
		b.WriteString(c.leading)
		b.WriteString(c.head)
		writeOutput(&b, outputs[i])
		rest := trailing(text, cases)
		if i+1 < len(cases) {
			rest = cases[i+1].leading + cases[i+1].head
		}
		// Output not in doubled separators ends at a blank line.
		if !needsDouble(outputs[i]) && rest != "" && !strings.HasPrefix(rest, "\n") {
			b.WriteString("\n")
		}
	}
	b.WriteString(trailing(text, cases))
	return b.String()
}

// writeOutput writes got after a case's head, which ends with "----".
func writeOutput(b *strings.Builder, got string) {
	if needsDouble(got) {
		b.WriteString("----\n" + got + "\n----\n----\n")
		return
	}
	if got != "" {
		b.WriteString(got + "\n")
	}
}

// needsDouble reports whether output must go between doubled separators:
// it holds a blank line (which would end it), or begins with one (which
// would start it).
func needsDouble(out string) bool {
	if out == "" {
		return false
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == "" {
			return true
		}
	}
	return strings.HasPrefix(out, "----\n") || out == "----"
}

// parsed is a Case with the text around it, for rewriting.
type parsed struct {
	*Case
	leading string // comments and blank lines before the command
	head    string // the command and input lines
	end     int    // offset after the case's output
}

func trailing(text string, cases []parsed) string {
	if len(cases) == 0 {
		return text
	}
	return text[cases[len(cases)-1].end:]
}

// parse reads the cases of a file's text; name is used in positions.
func parse(name, text string) ([]parsed, error) {
	lines := strings.SplitAfter(text, "\n")
	var cases []parsed
	off, i := 0, 0
	next := func() string { l := lines[i]; i++; off += len(l); return l }
	for i < len(lines) {
		start := off
		// Leading comments and blank lines.
		for i < len(lines) {
			l := strings.TrimSpace(lines[i])
			if l != "" && !strings.HasPrefix(l, "#") {
				break
			}
			next()
		}
		if i >= len(lines) {
			break
		}
		lead := text[start:off]
		headStart, lineNo := off, i+1
		c := &Case{Pos: fmt.Sprintf("%s:%d", name, lineNo)}
		fields := strings.Fields(next())
		c.Cmd = fields[0]
		for _, f := range fields[1:] {
			c.Args = append(c.Args, parseArg(f))
		}
		var input []string
		for {
			if i >= len(lines) {
				return nil, fmt.Errorf("%s: %s has no ---- line", c.Pos, c.Cmd)
			}
			l := strings.TrimRight(next(), "\n")
			if l == "----" {
				break
			}
			input = append(input, l)
		}
		c.Input = strings.Join(input, "\n")
		head := text[headStart:off]
		var output []string
		if i < len(lines) && strings.TrimRight(lines[i], "\n") == "----" {
			next()
			for {
				if i >= len(lines) {
					return nil, fmt.Errorf("%s: output has no closing ----\\n---- lines", c.Pos)
				}
				l := strings.TrimRight(next(), "\n")
				if l == "----" && i < len(lines) && strings.TrimRight(lines[i], "\n") == "----" {
					next()
					break
				}
				output = append(output, l)
			}
		} else {
			for i < len(lines) {
				l := strings.TrimRight(lines[i], "\n")
				if strings.TrimSpace(l) == "" {
					break
				}
				next()
				output = append(output, l)
			}
		}
		c.Expected = strings.Join(output, "\n")
		cases = append(cases, parsed{Case: c, leading: lead, head: head, end: off})
	}
	return cases, nil
}

func parseArg(f string) Arg {
	k, v, ok := strings.Cut(f, "=")
	if !ok {
		return Arg{Key: f}
	}
	if strings.HasPrefix(v, "(") && strings.HasSuffix(v, ")") {
		return Arg{Key: k, Vals: strings.Split(v[1:len(v)-1], ",")}
	}
	return Arg{Key: k, Vals: []string{v}}
}
