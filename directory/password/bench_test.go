package password

import (
	"context"
	"testing"
)

// Run with: go test ./directory/password -run '^$' -bench . -benchmem
// Duty 100: the raw cost of one computation, without the pool's rest.

func BenchmarkHashArgon2id(b *testing.B) {
	h := NewHasher(Config{Duty: 100})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, []byte("correct horse battery staple")); err != nil {
			b.Fatal(err)
		}
	}
}

func benchVerify(b *testing.B, h *Hasher, stored []byte, plain string) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := h.Verify(ctx, stored, []byte(plain)); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkVerifySSHA(b *testing.B) {
	benchVerify(b, NewHasher(Config{Duty: 100}), []byte("{SSHA}astCL3mzWJpuSvo+NNG4JIFAscbBb52Q"), "secret")
}

func BenchmarkVerifyPBKDF2(b *testing.B) {
	h := NewHasher(Config{Scheme: SchemePBKDF2SHA512, Duty: 100})
	stored, err := h.Hash(context.Background(), []byte("secret"))
	if err != nil {
		b.Fatal(err)
	}
	benchVerify(b, h, stored, "secret")
}

func BenchmarkVerifyArgon2(b *testing.B) {
	h := NewHasher(Config{Duty: 100})
	stored, err := h.Hash(context.Background(), []byte("secret"))
	if err != nil {
		b.Fatal(err)
	}
	benchVerify(b, h, stored, "secret")
}
