package ldif

import (
	"bytes"
	"io"
	"testing"
)

func FuzzReader(f *testing.F) {
	seeds := []string{
		"version: 1\n\ndn: cn=a,dc=x\nobjectClass: top\ncn: a\n",
		"dn:: IGNuPWEs\ncn:: IGxlYWRpbmc=\ndescription:\n\ndn:\nobjectClass: top\n",
		"# c\n folded\ndn: cn=a\ncn: a\n b\n#x\n y\nsn: s\r\n\r\n",
		"\xef\xbb\xbfdn: cn=a\ncn;lang-de: x\n2.5.4.3: y\n",
		"dn: cn=a\ncontrol: 1.2.3 true:: AAE=\ncontrol: 1.2.4\nchangetype: modify\nadd: cn\ncn: x\n-\ndelete: sn\n-\nreplace: a\n-\nincrement: n\nn: 1\n",
		"dn: cn=a\nchangetype: moddn\nnewrdn: cn=b\ndeleteoldrdn: 1\nnewsuperior:: ZGM9eA==\n",
		"dn: cn=a\nchangetype: delete\n\ndn: cn=b\nchangetype: add\ncn: b\n",
		"dn: cn=a\njpegPhoto:< file:///etc/shadow\n",
		" dn: broken\n\nversion: 2\n",
		"dn: cn=a\ncn:: !!!\n\ndn: cn=b\ncn: Müller\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), ReaderOptions{MaxRecordBytes: 1 << 20})
		var recs []*Record
		var out bytes.Buffer
		w := NewWriter(&out)
		var prev error
		for i := 0; i <= len(data)+1; i++ {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if asParseError(err) == nil {
					t.Fatalf("non-ParseError %T: %v", err, err)
				}
				if err == prev {
					break // sticky
				}
				prev = err
				continue
			}
			if err := w.WriteChange(rec); err != nil {
				t.Fatalf("Writer rejects a record the Reader returned: %v\n%s", err, fmtRecord(rec))
			}
			recs = append(recs, rec)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		// Everything the Reader returned, written by the Writer, reads back
		// as the same records.
		r2 := NewReader(&out, ReaderOptions{MaxRecordBytes: 4 << 20})
		for i, want := range recs {
			got, err := r2.Next()
			if err != nil {
				t.Fatalf("re-reading written record %d: %v\n%s\n%q", i, err, fmtRecord(want), out.String())
			}
			if !equalRecord(got, want) {
				t.Fatalf("round trip mismatch:\n got %s\nwant %s", fmtRecord(got), fmtRecord(want))
			}
		}
		if _, err := r2.Next(); err != io.EOF {
			t.Fatalf("extra output after records: %v", err)
		}
	})
}
