package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/ldif"
	"github.com/switchboard-ldap/switchboard/ldap"
)

var t0 = time.Date(2026, 11, 26, 21, 30, 0, 123456789, time.FixedZone("CET", 3600))

func TestRecordAdd(t *testing.T) {
	ev := &Event{Time: t0, Who: "cn=admin,dc=example,dc=com", From: "127.0.0.1:5000", Op: OpAdd, DN: "uid=jose,dc=example,dc=com",
		Attrs: []directory.Attr{
			{Name: "objectClass", Values: [][]byte{[]byte("inetOrgPerson")}},
			{Name: "cn", Values: [][]byte{[]byte("José Müller")}},
			{Name: "userPassword", Values: [][]byte{[]byte("s3cret"), []byte("{SSHA}abc")}},
		}}
	got := string(AppendRecord(nil, ev, nil))
	want := `# time: 2026-11-26T20:30:00.123Z
# who: cn=admin,dc=example,dc=com
# from: 127.0.0.1:5000
# op: add
# result: 0 success
dn: uid=jose,dc=example,dc=com
changetype: add
objectClass: inetOrgPerson
cn:: Sm9zw6kgTcO8bGxlcg==
userPassword: {REDACTED}
userPassword: {REDACTED}
`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRecordEveryOp(t *testing.T) {
	sup := "ou=people,dc=example,dc=com"
	cases := []struct {
		name string
		ev   Event
		want []string // lines that must appear, in order
		not  []string
	}{
		{"modify", Event{Op: OpModify, DN: "uid=a,dc=example,dc=com", Mods: []directory.Mod{
			{Op: change.ModAdd, Attr: directory.Attr{Name: "mail", Values: [][]byte{[]byte("a@example.com")}}},
			{Op: change.ModDelete, Attr: directory.Attr{Name: "title"}},
			{Op: change.ModReplace, Attr: directory.Attr{Name: "UserPassword;x-foo", Values: [][]byte{[]byte("pw")}}},
			{Op: change.ModIncrement, Attr: directory.Attr{Name: "uidNumber", Values: [][]byte{[]byte("1")}}},
			{Op: change.ModReplace, Attr: directory.Attr{Name: "2.5.4.35", Values: [][]byte{[]byte("pw2")}}},
		}}, []string{"# who: anonymous", "# from: internal", "# op: modify", "changetype: modify",
			"add: mail", "mail: a@example.com", "-", "delete: title", "-",
			"replace: UserPassword;x-foo", "UserPassword;x-foo: {REDACTED}", "-",
			"increment: uidNumber", "uidNumber: 1", "-", "2.5.4.35: {REDACTED}"}, []string{"pw"}},
		{"delete failed", Event{Op: OpDelete, DN: "uid=a,dc=example,dc=com", Code: ldap.NotAllowedOnNonLeaf, Diagnostic: "has children\nforged"},
			[]string{"# op: delete", "# result: 66 notAllowedOnNonLeaf", `# diagnostic: has children\x0aforged`, "dn: uid=a,dc=example,dc=com", "changetype: delete"}, nil},
		{"modrdn", Event{Op: OpModRDN, DN: "uid=a,dc=example,dc=com", NewRDN: "uid=b", DeleteOldRDN: true, NewSuperior: &sup},
			[]string{"changetype: modrdn", "newrdn: uid=b", "deleteoldrdn: 1", "newsuperior: ou=people,dc=example,dc=com"}, nil},
		{"modrdn keep", Event{Op: OpModRDN, DN: "uid=a,dc=example,dc=com", NewRDN: "uid=ü"},
			[]string{"changetype: modrdn", "newrdn:: dWlkPcO8", "deleteoldrdn: 0"}, []string{"newsuperior"}},
		{"bind ok", Event{Op: OpBind, DN: "cn=admin,dc=example,dc=com"},
			[]string{"# op: bind", "# result: 0 success", "# bind dn=cn=admin,dc=example,dc=com result=0"}, []string{"dn:", "diagnostic"}},
		{"bind failed", Event{Op: OpBind, DN: "uid=x,dc=example,dc=com", Code: ldap.InvalidCredentials, Diagnostic: "invalid credentials"},
			[]string{"# result: 49 invalidCredentials", "# diagnostic: invalid credentials", "# bind dn=uid=x,dc=example,dc=com result=49"}, []string{"dn:"}},
		{"add not expressible", Event{Op: OpAdd, DN: "uid=a,dc=example,dc=com", Code: ldap.ObjectClassViolation},
			[]string{"# dn: uid=a,dc=example,dc=com", `# unrecordable: ldif: entry "uid=a,dc=example,dc=com" has no attributes`}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.ev.Time = t0
			got := string(AppendRecord(nil, &c.ev, nil))
			lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
			i := 0
			for _, l := range lines {
				if i < len(c.want) && l == c.want[i] {
					i++
				}
				if l == "" {
					t.Errorf("blank line in record body:\n%s", got)
				}
			}
			if i < len(c.want) {
				t.Errorf("missing %q (in order) in\n%s", c.want[i], got)
			}
			for _, n := range c.not {
				if strings.Contains(got, n) {
					t.Errorf("%q must not appear in\n%s", n, got)
				}
			}
		})
	}
}

// A whole log is valid LDIF: its change records read back as written.
func TestLogIsLDIF(t *testing.T) {
	l, path := newLog(t, Config{})
	sup := "dc=example,dc=com"
	for _, ev := range []Event{
		{Op: OpAdd, DN: "uid=a,dc=example,dc=com", Attrs: []directory.Attr{{Name: "cn", Values: [][]byte{[]byte("Zoë"), {0, 1, 2}}}}},
		{Op: OpBind, DN: "uid=a,dc=example,dc=com", Code: ldap.InvalidCredentials},
		{Op: OpModify, DN: "uid=a,dc=example,dc=com", Mods: []directory.Mod{{Op: change.ModReplace, Attr: directory.Attr{Name: "sn", Values: [][]byte{[]byte(strings.Repeat("long ", 40))}}}}},
		{Op: OpModRDN, DN: "uid=a,dc=example,dc=com", NewRDN: "uid=b", NewSuperior: &sup},
		{Op: OpDelete, DN: "uid=b,dc=example,dc=com"},
	} {
		ev.Time = t0
		if err := l.Append(AppendRecord(nil, &ev, nil)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	f, _ := os.Open(path)
	defer f.Close()
	rd := ldif.NewReader(f, ldif.ReaderOptions{})
	var kinds []string
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, rec.ChangeType)
		if rec.ChangeType == ldif.ChangeAdd && string(rec.Attrs[0].Values[1]) != "\x00\x01\x02" {
			t.Errorf("binary value read back as %q", rec.Attrs[0].Values[1])
		}
	}
	if got := strings.Join(kinds, ","); got != "add,modify,modrdn,delete" {
		t.Fatalf("change records %s", got)
	}
}

func newLog(t *testing.T, cfg Config) (*Log, string) {
	t.Helper()
	if cfg.File == "" {
		cfg.File = filepath.Join(t.TempDir(), "audit.log")
	}
	l, err := OpenLog(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, cfg.File
}

func appendN(t *testing.T, l *Log, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		ev := &Event{Time: t0, Op: OpDelete, DN: fmt.Sprintf("uid=u%d,dc=example,dc=com", i)}
		if err := l.Append(AppendRecord(nil, ev, nil)); err != nil {
			t.Fatal(err)
		}
	}
}

// logFiles returns the log's files oldest first.
func logFiles(t *testing.T, path string) []File {
	t.Helper()
	var out []File
	for i := 50; i >= 0; i-- {
		name := path
		if i > 0 {
			name = fmt.Sprintf("%s.%d", path, i)
		}
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		out = append(out, File{Name: filepath.Base(name), Data: b})
	}
	return out
}

// recordStarts returns the 1-based line numbers of the records' blank
// lines, and the lines.
func recordStarts(data []byte) ([]int, []string) {
	lines := strings.SplitAfter(string(data), "\n")
	var starts []int
	for i, l := range lines {
		if l == "\n" {
			starts = append(starts, i+1)
		}
	}
	return starts, lines
}

func TestVerifyDetectsTampering(t *testing.T) {
	l, path := newLog(t, Config{})
	appendN(t, l, 0, 6)
	l.Close()
	good, _ := os.ReadFile(path)
	sum, err := Verify([]File{{"audit.log", good}})
	if err != nil || sum.Records != 6 || sum.Start != Genesis || sum.Head != l.Head() {
		t.Fatalf("intact log: %+v, %v", sum, err)
	}
	starts, lines := recordStarts(good)
	join := func(ls []string) []byte { return []byte(strings.Join(ls, "")) }
	rec := func(i int) []string { // lines of record i (blank line through chain line)
		end := len(lines)
		if i+1 < len(starts) {
			end = starts[i+1] - 1
		}
		return lines[starts[i]-1 : end]
	}
	without := func(from, to int) []string { // lines without [from, to), 0-based
		return append(append([]string{}, lines[:from]...), lines[to:]...)
	}
	r2 := starts[2] // 1-based line of record 2's blank line
	swapped := append(append(append([]string{}, lines[:starts[1]-1]...), rec(2)...), rec(1)...)
	swapped = append(swapped, lines[starts[3]-1:]...)
	edited := append([]string{}, lines...)
	edited[r2+1] = strings.Replace(edited[r2+1], "anonymous", "cn=someone", 1) // the who line

	cases := []struct {
		name      string
		data      []byte
		line      int // a line the error must span
		truncated bool
	}{
		{"edited line", join(edited), r2 + 2, false},
		{"deleted body line", join(without(r2+3, r2+4)), r2 + 1, false},
		{"deleted chain line", join(without(starts[3]-2, starts[3]-1)), r2 + 1, false},
		{"deleted blank line", join(without(r2-1, r2)), r2, false},
		{"deleted record", join(without(starts[2]-1, starts[3]-1)), r2 + 1, false},
		{"swapped records", join(swapped), starts[1] + 1, false},
		{"edited header", bytes.Replace(good, []byte("# previous: 0"), []byte("# previous: 1"), 1), starts[0] + 1, false},
		{"truncated mid record", good[:len(good)-40], starts[5] + 1, true},
		{"truncated before chain line", join(lines[:len(lines)-2]), starts[5] + 1, true},
		{"chain line not ended", good[:len(good)-1], starts[5] + 1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Verify([]File{{"audit.log", c.data}})
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("want a VerifyError, got %v", err)
			}
			end := max(ve.EndLine, ve.Line)
			if c.line < ve.Line || c.line > end {
				t.Errorf("error %q does not span line %d", ve, c.line)
			}
			if ve.Truncated != c.truncated {
				t.Errorf("Truncated = %v, want %v (%v)", ve.Truncated, c.truncated, ve)
			}
		})
	}
	// Whole records cut off the end leave a valid chain: only the head
	// (kept elsewhere) shows it.
	sum, err = Verify([]File{{"audit.log", join(lines[:starts[5]-1])}})
	if err != nil || sum.Records != 5 || sum.Head == l.Head() {
		t.Fatalf("cut at a record boundary: %+v, %v", sum, err)
	}
}

func TestRotation(t *testing.T) {
	l, path := newLog(t, Config{MaxBytes: 1000, Keep: 3, Sync: true})
	appendN(t, l, 0, 60)
	head := l.Head()
	l.Close()
	files := logFiles(t, path)
	if len(files) != 4 {
		t.Fatalf("%d files, want the live one and 3 rotated", len(files))
	}
	for _, f := range files {
		if len(f.Data) > 1000 {
			t.Errorf("%s has %d bytes, over MaxBytes", f.Name, len(f.Data))
		}
	}
	sum, err := Verify(files)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Head != head || sum.Start == Genesis || sum.Files != 4 {
		t.Fatalf("summary %+v", sum)
	}
	// Tamper with a rotated file.
	bad := append([]File{}, files...)
	bad[1].Data = bytes.Replace(bad[1].Data, []byte("uid=u"), []byte("uid=x"), 1)
	if _, err := Verify(bad); err == nil || !strings.Contains(err.Error(), bad[1].Name) {
		t.Fatalf("tampered rotated file: %v", err)
	}
	// A missing file, files out of order, a rotated file with its last
	// record cut off.
	if _, err := Verify([]File{files[0], files[2], files[3]}); err == nil || !strings.Contains(err.Error(), "previous") {
		t.Fatalf("missing middle file: %v", err)
	}
	if _, err := Verify([]File{files[1], files[0], files[2], files[3]}); err == nil {
		t.Fatal("files out of order verified")
	}
	starts, lines := recordStarts(files[2].Data)
	cut := append([]File{}, files...)
	cut[2].Data = []byte(strings.Join(lines[:starts[len(starts)-1]-1], ""))
	if _, err := Verify(cut); err == nil || !strings.Contains(err.Error(), files[3].Name) {
		t.Fatalf("rotated file cut at a record boundary: %v", err)
	}
}

func TestReopenContinuesChainAndRecoversTornTail(t *testing.T) {
	l, path := newLog(t, Config{Sync: true})
	appendN(t, l, 0, 3)
	l.Close()
	// A crash in the middle of a record.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("\n# time: 2026-11-26T21:30:00.000Z\n# who: anony")
	f.Close()
	if _, err := Verify(logFiles(t, path)); err == nil {
		t.Fatal("torn tail verified")
	}
	l2, _ := newLog(t, Config{File: path, Sync: true})
	appendN(t, l2, 3, 2)
	l2.Close()
	sum, err := Verify(logFiles(t, path))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 3+1+2 {
		t.Fatalf("%d records, want 3, the recovery note and 2", sum.Records)
	}
	data, _ := os.ReadFile(path)
	if !bytes.Contains(data, []byte("# note: recovery: dropped 46 bytes")) {
		t.Fatalf("no recovery note:\n%s", data)
	}
	if _, err := OpenLog(Config{File: filepath.Join(t.TempDir(), "x")}); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(other, []byte("hello\n"), 0o600)
	if _, err := OpenLog(Config{File: other}); err == nil {
		t.Fatal("opened a file that is not an audit log")
	}
}

func TestConcurrentAppends(t *testing.T) {
	for _, cfg := range []Config{{Sync: true}, {Sync: false, MaxBytes: 20000, Keep: 100}} {
		t.Run(fmt.Sprintf("sync=%v rotate=%v", cfg.Sync, cfg.MaxBytes > 0), func(t *testing.T) {
			l, path := newLog(t, cfg)
			const workers, each = 16, 40
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						ev := &Event{Time: time.Now(), Op: OpModify, DN: fmt.Sprintf("uid=w%d,dc=example,dc=com", w),
							Mods: []directory.Mod{{Op: change.ModReplace, Attr: directory.Attr{Name: "description", Values: [][]byte{[]byte(strings.Repeat(fmt.Sprint(i), 50))}}}}}
						if err := l.Append(AppendRecord(nil, ev, nil)); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			l.Close()
			files := logFiles(t, path)
			sum, err := Verify(files)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Records != workers*each {
				t.Fatalf("%d records, want %d", sum.Records, workers*each)
			}
			if cfg.MaxBytes > 0 && len(files) < 2 {
				t.Fatalf("no rotation happened")
			}
		})
	}
}

// fakeBackend answers every operation with err.
type fakeBackend struct {
	directory.Backend
	err error
}

func (f *fakeBackend) Add(context.Context, string, []directory.Attr, directory.WriteOptions) (*directory.Change, error) {
	return &directory.Change{}, f.err
}
func (f *fakeBackend) Modify(context.Context, string, []directory.Mod, directory.WriteOptions) (*directory.Change, error) {
	return &directory.Change{}, f.err
}
func (f *fakeBackend) Delete(context.Context, string, directory.WriteOptions) (*directory.Change, error) {
	return &directory.Change{}, f.err
}
func (f *fakeBackend) ModifyDN(context.Context, string, string, bool, *string, directory.WriteOptions) (*directory.Change, error) {
	return &directory.Change{}, f.err
}
func (f *fakeBackend) Authenticate(context.Context, string, []byte) (*directory.Entry, error) {
	return &directory.Entry{}, f.err
}

func TestOverlayRecordsOperations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	fb := &fakeBackend{}
	o, err := New(fb, Config{File: path, Sync: true, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	sess := &ldap.Session{RemoteAddr: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 4242}}
	ctx := directory.WithIdentity(ldap.WithSession(context.Background(), sess), "cn=admin,dc=example,dc=com")
	o.Add(ctx, "uid=a,dc=example,dc=com", []directory.Attr{{Name: "userPassword", Values: [][]byte{[]byte("hunter2")}}}, directory.WriteOptions{})
	o.ModifyDN(ctx, "uid=a,dc=example,dc=com", "uid=b", true, nil, directory.WriteOptions{})
	fb.err = &ldap.Error{Code: ldap.InvalidCredentials, Message: "invalid credentials"}
	if _, err := o.Authenticate(ctx, "uid=b,dc=example,dc=com", []byte("hunter3")); !errors.Is(err, fb.err) {
		t.Fatalf("Authenticate returned %v", err)
	}
	if err := o.ObserveBind(ctx, "cn=admin,dc=example,dc=com", nil); err != nil {
		t.Fatal(err)
	}
	fb.err = errors.New("disk on fire")
	o.Delete(ctx, "uid=b,dc=example,dc=com", directory.WriteOptions{})
	o.Close()
	data, _ := os.ReadFile(path)
	s := string(data)
	for _, want := range []string{
		"# from: 192.0.2.7:4242", "# who: cn=admin,dc=example,dc=com", "userPassword: {REDACTED}",
		"changetype: modrdn", "# bind dn=uid=b,dc=example,dc=com result=49", "# bind dn=cn=admin,dc=example,dc=com result=0",
		"# result: 80 other\n# diagnostic: disk on fire\ndn: uid=b,dc=example,dc=com\nchangetype: delete\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in\n%s", want, s)
		}
	}
	if strings.Contains(s, "hunter") {
		t.Errorf("a password reached the log:\n%s", s)
	}
	if sum, err := Verify([]File{{"audit.log", data}}); err != nil || sum.Records != 5 {
		t.Fatalf("%+v %v", sum, err)
	}
}

func TestFailClosed(t *testing.T) {
	for _, closed := range []bool{false, true} {
		fb := &fakeBackend{}
		o, err := New(fb, Config{File: filepath.Join(t.TempDir(), "audit.log"), FailClosed: closed})
		if err != nil {
			t.Fatal(err)
		}
		o.Close() // every append now fails
		_, err = o.Delete(context.Background(), "uid=a,dc=example,dc=com", directory.WriteOptions{})
		var le *ldap.Error
		if closed != (errors.As(err, &le) && le.Code == ldap.Other) {
			t.Errorf("fail_closed=%v: Delete returned %v", closed, err)
		}
		err = o.ObserveBind(context.Background(), "cn=admin,dc=example,dc=com", nil)
		if closed != (err != nil) {
			t.Errorf("fail_closed=%v: bind returned %v", closed, err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	dir := f.TempDir()
	l, err := OpenLog(Config{File: filepath.Join(dir, "audit.log")})
	if err != nil {
		f.Fatal(err)
	}
	for i := range 3 {
		l.Append(AppendRecord(nil, &Event{Time: t0, Op: OpDelete, DN: fmt.Sprintf("uid=%d", i)}, nil))
	}
	l.Close()
	good, _ := os.ReadFile(filepath.Join(dir, "audit.log"))
	f.Add(good, 0)
	f.Add(good[:len(good)/2], 1)
	f.Add([]byte(""), 0)
	f.Add([]byte("# switchboard audit log v1\n# previous: "+Genesis.String()+"\nversion: 1\n\n# chain: "+Genesis.String()+"\n"), 0)
	f.Add([]byte("\n\n\n"), 2)
	f.Fuzz(func(t *testing.T, data []byte, split int) {
		sum, err := Verify([]File{{"a", data}})
		if err == nil && sum.Records > bytes.Count(data, []byte(chainPrefix)) {
			t.Fatalf("%d records from %d chain lines", sum.Records, bytes.Count(data, []byte(chainPrefix)))
		}
		if split >= 0 && split <= len(data) {
			Verify([]File{{"a", data[:split]}, {"b", data[split:]}})
		}
	})
}
