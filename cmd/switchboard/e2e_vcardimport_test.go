package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportVCard imports a .vcf of three cards (one with an
// international name, one malformed) offline into alice's personal book,
// then reads the cards over CardDAV: alice sees the two good ones, bob
// does not; a second import of a changed card replaces it.
func TestImportVCard(t *testing.T) {
	s, _ := startCardDAV(t, 0, "")
	aliceDN := "uid=alice,ou=people," + testSuffix
	ann := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ann-1\r\nFN:Ann Example\r\nN:Example;Ann;;;\r\nEMAIL:ann@example.org\r\nX-CUSTOM:kept\r\nEND:VCARD\r\n"
	zoe := "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:5e1f0c2a-7d3b-4c61-9a0e-1f2e3d4c5b6a\r\nFN:Zoë Ñúñez 山田太郎\r\nN:Ñúñez;Zoë;;;\r\nEND:VCARD\r\n"
	bad := "BEGIN:VCARD\r\nFN:No Version\r\nEND:VCARD\r\n"
	dir := t.TempDir()
	file := filepath.Join(dir, "three.vcf")
	if err := os.WriteFile(file, []byte(ann+"\r\n"+zoe+bad), 0o600); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	out, errOut, code := runCLI(t, "", "import", "--data", s.Data, "--format", "vcard", "--owner", aliceDN, "--addressbook", "friends", file)
	if code == 0 || !strings.Contains(out, "imported 2 cards") || !strings.Contains(out, "2 new, 0 replaced), 1 refused") {
		t.Fatalf("import: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if want := file + ": card 3 (line 16): refused: vcard: missing VERSION"; !strings.Contains(errOut, want) {
		t.Errorf("import's message for the bad card: %q, want %q", errOut, want)
	}
	// Importing the same card again, changed, replaces it.
	ann2 := strings.Replace(ann, "FN:Ann Example", "FN:Ann Changed", 1)
	file2 := filepath.Join(dir, "again.vcf")
	if err := os.WriteFile(file2, []byte(ann2), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := runCLI(t, "", "import", "--data", s.Data, "--format", "vcard", "--owner", aliceDN, "--addressbook", "friends", file2); code != 0 || !strings.Contains(out, "(0 new, 1 replaced), 0 refused") {
		t.Fatalf("second import: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// Flags that do not fit.
	for _, args := range [][]string{
		{"--format", "vcard", file},
		{"--format", "vcard", "--owner", "uid=nobody,ou=people," + testSuffix, file},
		{"--format", "vcard", "--owner", aliceDN, "--addressbook", "directory", file},
		{"--format", "csv", file},
		{"--owner", aliceDN, file},
	} {
		if _, errOut, code := runCLI(t, "", append([]string{"import", "--data", s.Data}, args...)...); code == 0 || errOut == "" {
			t.Errorf("import %v: exit %d, stderr %q", args, code, errOut)
		}
	}
	s.start()

	alice := newDAVClient(t, s, "alice", "alice-pw")
	book := alice.home + "friends/"
	_, _, got := alice.do("GET", book+"ann-1.vcf", nil, "", 200)
	if got != ann2 {
		t.Errorf("GET ann-1.vcf:\n%q\nwant\n%q", got, ann2)
	}
	_, _, got = alice.do("GET", book+"5e1f0c2a-7d3b-4c61-9a0e-1f2e3d4c5b6a.vcf", nil, "", 200)
	if got != zoe {
		t.Errorf("GET the international card:\n%q\nwant\n%q", got, zoe)
	}
	_, _, list := alice.do("PROPFIND", book, map[string]string{"Depth": "1"}, "", 207)
	if n := strings.Count(list, ".vcf</D:href>"); n != 2 || strings.Contains(list, "No Version") {
		t.Errorf("the book holds %d cards, want 2:\n%s", n, list)
	}
	bob := newDAVClient(t, s, "bob", "bob-pw")
	bob.do("GET", book+"ann-1.vcf", nil, "", 404)
	bob.do("GET", bob.home+"friends/ann-1.vcf", nil, "", 404)
}
