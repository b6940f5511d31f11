package datadriven

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `# comment
echo a=1 b=(x,y) flag
one
two
----
one
two

# blank output
echo
----

echo
with

blank
----
----
with

blank
----
----
`

func TestParse(t *testing.T) {
	cases, err := parse("f", sample)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 3 {
		t.Fatalf("%d cases, want 3", len(cases))
	}
	c := cases[0].Case
	if c.Pos != "f:2" || c.Cmd != "echo" || c.Input != "one\ntwo" || c.Expected != "one\ntwo" {
		t.Errorf("first case %+v", c)
	}
	if v, ok := c.Arg("b"); !ok || strings.Join(v, "|") != "x|y" || c.Value("a", "") != "1" {
		t.Errorf("args %+v", c.Args)
	}
	if _, ok := c.Arg("flag"); !ok {
		t.Error("flag argument lost")
	}
	if cases[1].Expected != "" || cases[2].Expected != "with\n\nblank" || cases[2].Input != "with\n\nblank" {
		t.Errorf("cases %q, %q", cases[1].Expected, cases[2].Expected)
	}
	for _, bad := range []string{"cmd\nno separator\n", "cmd\n----\n----\nnever closed\n"} {
		if _, err := parse("bad", bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestRewrite: rewriting a file with the output it records leaves it as
// it was; with other output, only the outputs change.
func TestRewrite(t *testing.T) {
	file := filepath.Join(t.TempDir(), "echo.txt")
	if err := os.WriteFile(file, []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATADRIVEN_REWRITE", "1")
	echo := func(_ *testing.T, c *Case) string { return c.Input }
	RunFile(t, file, echo)
	if b, _ := os.ReadFile(file); string(b) != sample {
		t.Fatalf("rewritten with the same output:\n%s", b)
	}
	RunFile(t, file, func(_ *testing.T, c *Case) string { return strings.ToUpper(c.Input) })
	t.Setenv("DATADRIVEN_REWRITE", "")
	cases, err := parse("f", readFile(t, file))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 3 || cases[0].Expected != "ONE\nTWO" || cases[2].Expected != "WITH\n\nBLANK" || cases[0].Input != "one\ntwo" {
		t.Fatalf("after rewrite: %s", readFile(t, file))
	}
}

func readFile(t *testing.T, f string) string {
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzParse: any text parses or fails cleanly, and a parsed file
// rewritten with its recorded outputs parses to the same cases.
func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add("cmd\n----\n")
	f.Add("a b=(\n----\n----\n----\n----\n")
	f.Fuzz(func(t *testing.T, text string) {
		cases, err := parse("f", text)
		if err != nil {
			return
		}
		outputs := make([]string, len(cases))
		for i, c := range cases {
			if strings.Contains("\n"+c.Expected+"\n", "\n----\n----\n") {
				return // cannot be written (see the package documentation)
			}
			outputs[i] = c.Expected
		}
		text2 := render(text, cases, outputs)
		again, err := parse("f", text2)
		if err != nil {
			t.Fatalf("rewritten text does not parse: %v\n%q", err, text2)
		}
		if len(again) != len(cases) {
			t.Fatalf("%d cases, then %d", len(cases), len(again))
		}
		for i := range cases {
			if again[i].Cmd != cases[i].Cmd || again[i].Input != cases[i].Input || again[i].Expected != cases[i].Expected {
				t.Fatalf("case %d: %+v, then %+v", i, cases[i].Case, again[i].Case)
			}
		}
	})
}
