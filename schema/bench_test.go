package schema

import (
	"os"
	"testing"
)

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }

func BenchmarkNormalizeCaseIgnore(b *testing.B) {
	s := mustDefault(b)
	cn := mustAttr(b, s, "cn")
	for _, bc := range []struct{ name, v string }{
		{"ASCII-normal", "john smith"},
		{"ASCII-upper", "John  Smith"},
		{"NonASCII", "Jürgen ÅNGSTRÖM"},
	} {
		v := []byte(bc.v)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cn.Normalize(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkNormalizeDN(b *testing.B) {
	s := mustDefault(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.NormalizeDNString("CN=John Smith,OU=People,DC=Example,DC=com"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Default(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrepareLatinName prepares an accented name for substring
// matching, the per-value cost of an unindexed substring filter.
func BenchmarkPrepareLatinName(b *testing.B) {
	v := []byte("Zoë Müller-Łukasiewicz")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := prepareString(v, foldCase, spaceAny); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrepareCyrillicName is BenchmarkPrepareLatinName for another
// script of the tables.
func BenchmarkPrepareCyrillicName(b *testing.B) {
	v := []byte("Дмитрий Иванович Соколов")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := prepareString(v, foldCase, spaceAny); err != nil {
			b.Fatal(err)
		}
	}
}
