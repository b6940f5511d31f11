package password

import (
	"crypto/sha1"
	"encoding/base64"
	"testing"
)

func TestHashVerifyRoundTrip(t *testing.T) {
	h := Hash([]byte("s3cret"))
	if !IsHashed(h) {
		t.Fatalf("Hash output %q has no scheme", h)
	}
	if ok, err := Verify(h, []byte("s3cret")); !ok || err != nil {
		t.Fatalf("Verify(correct) = %v, %v", ok, err)
	}
	if ok, _ := Verify(h, []byte("s3cret!")); ok {
		t.Fatal("Verify accepted a wrong password")
	}
	first, second := Hash([]byte("x")), Hash([]byte("x"))
	if string(first) == string(second) {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
}

func TestVerifyImportedSSHA(t *testing.T) {
	// {SSHA} as slappasswd writes it: base64(SHA1(pw+salt)+salt).
	salt := []byte("abcd")
	h := sha1.New()
	h.Write([]byte("password"))
	h.Write(salt)
	stored := "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
	if ok, err := Verify([]byte(stored), []byte("password")); !ok || err != nil {
		t.Fatalf("Verify(SSHA) = %v, %v", ok, err)
	}
	if ok, _ := Verify([]byte(stored), []byte("Password")); ok {
		t.Fatal("SSHA accepted the wrong case")
	}
	unsalted := sha1.Sum([]byte("password"))
	if ok, _ := Verify([]byte("{SHA}"+base64.StdEncoding.EncodeToString(unsalted[:])), []byte("password")); !ok {
		t.Fatal("{SHA} did not verify")
	}
}

func TestVerifyBadInput(t *testing.T) {
	for _, stored := range []string{"{SSHA}!!!notbase64", "{SSHA}AAAA", "{NOPE}abc", "{SHA}" + base64.StdEncoding.EncodeToString(make([]byte, 25))} {
		if ok, _ := Verify([]byte(stored), []byte("x")); ok {
			t.Errorf("Verify(%q) matched", stored)
		}
	}
	if ok, _ := Verify([]byte("plain"), []byte("plain")); !ok {
		t.Error("cleartext value did not match")
	}
}

func TestGenerate(t *testing.T) {
	a, b := Generate(12), Generate(12)
	if len(a) != 12 || string(a) == string(b) {
		t.Fatalf("Generate gave %q and %q", a, b)
	}
}
