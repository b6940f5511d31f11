package federation

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNormalizeAddress(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.com":           "alice@example.com",
		"  Alice@Example.COM\t\n":     "alice@example.com",
		"ALICE.SMITH+tag@EXAMPLE.org": "alice.smith+tag@example.org",
		"Jörg@Bücher.DE":              "jörg@bücher.de",
		"":                            "",
	} {
		if got := NormalizeAddress(in); got != want {
			t.Errorf("NormalizeAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDiscoveryHash: the hash is SHA-256 of the salt's text and the
// normalised address, as `printf %s "$salt$addr" | sha256sum` computes.
func TestDiscoveryHash(t *testing.T) {
	salt := strings.Repeat("ab", 32)
	sum := sha256.Sum256([]byte(salt + "alice@example.com"))
	want := hex.EncodeToString(sum[:])
	for _, addr := range []string{"alice@example.com", " Alice@EXAMPLE.com "} {
		if got := DiscoveryHash(salt, addr); got != want {
			t.Errorf("DiscoveryHash(%q) = %s, want %s", addr, got, want)
		}
	}
	if DiscoveryHash(strings.Repeat("cd", 32), "alice@example.com") == want {
		t.Error("another salt gives the same hash")
	}
	// A value computed with sha256sum: printf %s '00a@b' | sha256sum.
	if got := DiscoveryHash("00", " A@B"); got != "d84c0c7792a94d4a5774d24df40f85e1442f31eb7e5cc2254cfcb7ed3d363109" {
		t.Errorf("DiscoveryHash(00, A@B) = %s", got)
	}
}

func hexSum(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestParseDiscoverRequest(t *testing.T) {
	h1, h2 := hexSum("one"), hexSum("two")
	good := `{"hashes": ["` + h1 + `", "` + strings.ToUpper(h2) + `", "` + h1 + `"]}`
	got, err := parseDiscoverRequest([]byte(good))
	if err != nil || len(got) != 2 || hex.EncodeToString(got[0][:]) != h1 || hex.EncodeToString(got[1][:]) != h2 {
		t.Fatalf("%q: %x, %v", good, got, err)
	}
	many := make([]string, MaxDiscoverHashes+1)
	for i := range many {
		many[i] = `"` + h1 + `"`
	}
	var tm *tooMany
	if _, err := parseDiscoverRequest([]byte(`{"hashes":[` + strings.Join(many, ",") + `]}`)); !errors.As(err, &tm) {
		t.Errorf("%d hashes: %v, want too many", len(many), err)
	}
	if _, err := parseDiscoverRequest([]byte(`{"hashes":[` + strings.Join(many[1:], ",") + `]}`)); err != nil {
		t.Errorf("%d hashes: %v", len(many)-1, err)
	}
	for _, body := range []string{
		``, `{}`, `{"hashes": []}`, `{"hashes": null}`, `[]`, `{"hashes": ["*"]}`, `{"hashes": ["alice@example.com"]}`,
		`{"hashes": ["` + h1[:63] + `"]}`, `{"hashes": ["` + h1 + `0"]}`, `{"hashes": ["` + h1[:62] + `zz"]}`,
		`{"hashes": ["` + h1 + `"], "filter": "(mail=*)"}`, `{"hashes": ["` + h1 + `"]} {}`, `{"hashes": [1]}`,
	} {
		var br *badRequest
		if _, err := parseDiscoverRequest([]byte(body)); !errors.As(err, &br) {
			t.Errorf("%q: %v, want a bad request", body, err)
		}
	}
}

// FuzzParseDiscoverRequest: any body gives hashes (1 to the maximum, no
// duplicates) or a bad request, never a panic.
func FuzzParseDiscoverRequest(f *testing.F) {
	f.Add([]byte(`{"hashes": ["` + hexSum("one") + `"]}`))
	f.Add([]byte(`{"hashes": ["` + hexSum("one") + `", "` + hexSum("one") + `"]}`))
	f.Add([]byte(`{"hashes": ["*"]}`))
	f.Add([]byte(`{"hashes": []}`))
	f.Add([]byte(`{"hashes": ["` + strings.ToUpper(hexSum("x")) + `"], "x": 1}`))
	f.Add([]byte(`{"hashes": "abc"}`))
	f.Add([]byte(`{"hashes": ["\u0030` + hexSum("y")[1:] + `"]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := parseDiscoverRequest(body)
		if err != nil {
			var br *badRequest
			var tm *tooMany
			if !errors.As(err, &br) && !errors.As(err, &tm) {
				t.Fatalf("error of another kind: %T %v", err, err)
			}
			return
		}
		if len(got) == 0 || len(got) > MaxDiscoverHashes {
			t.Fatalf("%d hashes", len(got))
		}
		seen := map[[sha256.Size]byte]bool{}
		for _, h := range got {
			if seen[h] {
				t.Fatalf("duplicate %x", h)
			}
			seen[h] = true
		}
	})
}

// TestDiscoveryBucket: the burst passes, then a request waits for the
// rate to refill what it needs.
func TestDiscoveryBucket(t *testing.T) {
	var d discovery
	now := time.Unix(1000, 0)
	for i := range 10 {
		if _, ok := d.take(100, 10, 1000, now); !ok {
			t.Fatalf("request %d refused within the burst", i)
		}
	}
	wait, ok := d.take(100, 10, 1000, now)
	if ok || wait != 10*time.Second {
		t.Fatalf("beyond the burst: %v %v, want refused for 10s", wait, ok)
	}
	if _, ok := d.take(100, 10, 1000, now.Add(5*time.Second)); ok {
		t.Fatal("refilled too fast")
	}
	if _, ok := d.take(100, 10, 1000, now.Add(10*time.Second)); !ok {
		t.Fatal("not refilled after 10 s")
	}
	if _, ok := d.take(10, 10, 1000, now.Add(time.Hour)); !ok {
		t.Fatal("an hour later")
	}
	if d.tokens > 1000 {
		t.Fatalf("%v tokens: above the burst", d.tokens)
	}
}
