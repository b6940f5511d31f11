package replication

import (
	"bytes"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/replication/wire"
)

func samplePull() (*PullRequest, *PullResponse) {
	c := change.CSN{Time: 1_700_000_000_000_000, Counter: 3, Replica: 2}
	q := &PullRequest{Generation: Generation{1, 2, 3}, Consumer: 7, MaxOps: 500, Vector: Vector{1: c, 2: c.WithSub(1)}}
	p := &PullResponse{Status: PullOK, Generation: Generation{1, 2, 3}, Supplier: 2, More: true, Now: time.UnixMicro(c.Time),
		Remaining: 12, Vector: Vector{2: c}, Ops: []Op{
			{CSN: c, Kind: change.Add, Entry: UUID{9}, RDN: "dc=example,dc=com", Attrs: []Attribute{{Name: "dc", Values: []string{"example"}}}},
			{CSN: c.WithSub(1), Kind: change.Delete, Entry: UUID{9}},
		}}
	return q, p
}

func TestPullRoundTrip(t *testing.T) {
	q, p := samplePull()
	q2, err := wire.DecodePullRequest(q.AppendBinary(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(q2.AppendBinary(nil), q.AppendBinary(nil)) {
		t.Fatalf("request round trip: %+v", q2)
	}
	p2, err := wire.DecodePullResponse(p.AppendBinary(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p2.AppendBinary(nil), p.AppendBinary(nil)) || len(p2.Ops) != 2 || !p2.More {
		t.Fatalf("response round trip: %+v", p2)
	}
	// Every truncation is an error, never a panic.
	b := p.AppendBinary(nil)
	for i := range b {
		if _, err := wire.DecodePullResponse(b[:i]); err == nil {
			t.Fatalf("truncated at %d: no error", i)
		}
	}
}

func FuzzDecodePull(f *testing.F) {
	q, p := samplePull()
	f.Add(q.AppendBinary(nil))
	f.Add(p.AppendBinary(nil))
	f.Add([]byte{1})
	sl := testSealer(f, 1, "employeeNumber")
	f.Add(sealedPull(sl).AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		if q, err := wire.DecodePullRequest(b); err == nil {
			enc := q.AppendBinary(nil)
			q2, err := wire.DecodePullRequest(enc)
			if err != nil || !bytes.Equal(q2.AppendBinary(nil), enc) {
				t.Fatalf("a decoded request does not round-trip: %v", err)
			}
		}
		if p, err := wire.DecodePullResponse(b); err == nil {
			enc := p.AppendBinary(nil)
			if p2, err := wire.DecodePullResponse(enc); err != nil || !bytes.Equal(p2.AppendBinary(nil), enc) {
				t.Fatalf("a decoded response does not round-trip: %v", err)
			}
			// What a consumer does next: open the sealed values, or
			// refuse (never panic).
			openPulled("fuzz", p, sl)
		}
	})
}
