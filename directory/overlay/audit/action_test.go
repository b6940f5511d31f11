package audit

import (
	"strings"
	"testing"
	"time"
)

func TestRecordAction(t *testing.T) {
	l, path := newLog(t, Config{Sync: true})
	if err := l.RecordAction(Action{Time: time.Date(2026, 12, 4, 21, 0, 0, 0, time.UTC), Who: "cn=admin,dc=x",
		From: "127.0.0.1:9", Op: "federation.export.put", Object: "beta",
		Details: []string{"base=ou=people,dc=x", "filter=(cn=a)\n# who: forged"}}); err != nil {
		t.Fatal(err)
	}
	if err := l.RecordAction(Action{Op: "federation.import.purge", Object: "alpha", Failure: "no such object"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	files := logFiles(t, path)
	if _, err := Verify(files); err != nil {
		t.Fatal(err)
	}
	got := string(files[len(files)-1].Data)
	for _, want := range []string{
		"# time: 2026-12-04T21:00:00.000Z\n# who: cn=admin,dc=x\n# from: 127.0.0.1:9\n# op: federation.export.put\n# result: 0 success\n# object: beta\n# detail: base=ou=people,dc=x\n# detail: filter=(cn=a)\\x0a# who: forged\n",
		"# who: server\n# from: internal\n# op: federation.import.purge\n# result: 80 other\n# diagnostic: no such object\n# object: alpha\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks\n%s\nin\n%s", want, got)
		}
	}
}
