package carddav

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const threeCards = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:a-1\r\nFN:Ann\r\nEND:VCARD\r\n" +
	"\r\n" +
	"BEGIN:VCARD\nVERSION:4.0\nUID:urn:uuid:0b7f-22\nFN:Zoë Ñúñez 山田\nEND:VCARD\n" +
	"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:broken\r\n" + // no END: cut by the next BEGIN
	"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:no uid\r\nEND:VCARD"

func TestSplit(t *testing.T) {
	chunks := Split([]byte(threeCards))
	var lines []int
	var ok []bool
	for _, c := range chunks {
		lines = append(lines, c.Line)
		_, err := Parse(c.Data)
		ok = append(ok, err == nil)
	}
	if want := []int{1, 7, 12, 15}; len(lines) != 4 || lines[0] != want[0] || lines[1] != want[1] || lines[2] != want[2] || lines[3] != want[3] {
		t.Fatalf("chunk lines %v, want %v", lines, want)
	}
	if !ok[0] || !ok[1] || ok[2] || !ok[3] {
		t.Errorf("parsed %v, want the third refused", ok)
	}
	if got := Split([]byte("\r\n  \nstray text\nBEGIN:VCARD\nVERSION:4.0\nFN:x\nEND:VCARD\n")); len(got) != 2 || got[0].Line != 3 || got[1].Line != 4 {
		t.Errorf("stray text: %+v", got)
	}
	if len(Split(nil)) != 0 || len(Split([]byte("\n\r\n"))) != 0 {
		t.Error("empty input gives chunks")
	}
}

func TestImportName(t *testing.T) {
	for _, tc := range []struct{ card, want string }{
		{"BEGIN:VCARD\nVERSION:3.0\nUID:a-1\nFN:x\nEND:VCARD\n", "a-1.vcf"},
		{"BEGIN:VCARD\nVERSION:4.0\nUID:urn:uuid:0B7F-22\nFN:x\nEND:VCARD\n", "0B7F-22.vcf"},
		{"BEGIN:VCARD\nVERSION:4.0\nUID:../../etc/passwd\nFN:x\nEND:VCARD\n", "uid-"},
		{"BEGIN:VCARD\nVERSION:4.0\nUID:.hidden\nFN:x\nEND:VCARD\n", "uid-"},
		{"BEGIN:VCARD\nVERSION:4.0\nFN:x\nEND:VCARD\n", "card-"},
	} {
		c, err := Parse([]byte(tc.card))
		if err != nil {
			t.Fatal(err)
		}
		if got := ImportName(c, []byte(tc.card)); !strings.HasPrefix(got, tc.want) || checkSegment(got) != nil || strings.Contains(got, "/") {
			t.Errorf("ImportName(%q) = %q, want %q...", tc.card, got, tc.want)
		}
	}
}

func TestLimitsCheck(t *testing.T) {
	card := "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nPHOTO;ENCODING=b;TYPE=JPEG:" + strings.Repeat("AAAA", 100) + "\r\nEND:VCARD\r\n"
	if _, err := (Limits{}).Check([]byte(card)); err != nil {
		t.Fatal(err)
	}
	if _, err := (Limits{MaxPhotoBytes: 100}).Check([]byte(card)); !errors.Is(err, ErrCardTooLarge) || !strings.Contains(err.Error(), "PHOTO is 300 bytes") {
		t.Errorf("photo over the limit: %v", err)
	}
	if _, err := (Limits{MaxCardBytes: 100}).Check([]byte(card)); !errors.Is(err, ErrCardTooLarge) {
		t.Errorf("card over the limit: %v", err)
	}
	var pe *ParseError
	if _, err := (Limits{}).Check([]byte("BEGIN:VCARD\nFN:x\nEND:VCARD\n")); !errors.As(err, &pe) {
		t.Errorf("card without VERSION: %v", err)
	}
}

// FuzzSplit checks that Split loses no card content: every chunk is a
// piece of the input, in order, not overlapping, and what lies between
// chunks is blank.
func FuzzSplit(f *testing.F) {
	f.Add([]byte(threeCards))
	f.Add([]byte("x\nBEGIN:VCARD\nEND:VCARD\nEND:VCARD\n"))
	f.Add([]byte("BEGIN:VCARD\r\nBEGIN:VCARD\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		off := 0
		for _, c := range Split(data) {
			i := bytes.Index(data[off:], c.Data)
			if i < 0 || len(c.Data) == 0 {
				t.Fatalf("chunk %q not found after offset %d", c.Data, off)
			}
			if gap := data[off : off+i]; len(bytes.TrimSpace(gap)) != 0 {
				t.Fatalf("non-blank text %q dropped", gap)
			}
			if want := 1 + bytes.Count(data[:off+i], []byte("\n")); c.Line != want {
				t.Fatalf("chunk at line %d, want %d", c.Line, want)
			}
			off += i + len(c.Data)
			if c2, err := Parse(c.Data); err == nil {
				ImportName(c2, c.Data)
			}
		}
		if rest := data[off:]; len(bytes.TrimSpace(rest)) != 0 {
			t.Fatalf("non-blank tail %q dropped", rest)
		}
	})
}
