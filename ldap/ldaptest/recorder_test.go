package ldaptest

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboard-ldap/switchboard/ldap"
)

func TestRecorderDeepCopiesAndOrder(t *testing.T) {
	val := []byte("alice")
	h := ldap.HandlerFunc(func(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request) {
		e := ldap.Entry{DN: "cn=alice", Attributes: []ldap.Attribute{{Name: "cn", Values: [][]byte{val}}}}
		w.WriteEntry(&e, false, ldap.ResponseControl{OID: "1.2.3", Value: val})
		val[0] = 'X' // the handler reuses its buffer
		w.WriteReference([]string{"ldap://other/"})
		w.WriteIntermediate("1.3.6.1.4.1.4203.1.9.1.4", []byte{1})
		w.WriteResult(&ldap.Result{Code: ldap.SizeLimitExceeded, Referral: []string{"ldap://x/"}})
		if err := w.WriteResult(&ldap.Result{}); !errors.Is(err, ErrResultWritten) {
			t.Errorf("second WriteResult: %v", err)
		}
	})
	rec := Serve(h, &ldap.Request{Op: ldap.OpSearchRequest})
	if got := string(rec.Entries[0].Entry.Attributes[0].Values[0]); got != "alice" {
		t.Fatalf("entry value %q: not copied", got)
	}
	if got := string(rec.Entries[0].Controls[0].Value); got != "alice" {
		t.Fatalf("control value %q: not copied", got)
	}
	want := []Kind{KindEntry, KindReference, KindIntermediate, KindResult}
	if len(rec.Order) != len(want) {
		t.Fatalf("order %v", rec.Order)
	}
	for i := range want {
		if rec.Order[i] != want[i] {
			t.Fatalf("order %v, want %v", rec.Order, want)
		}
	}
	if rec.Code() != ldap.SizeLimitExceeded || rec.LateWrites != 1 || rec.References[0].URLs[0] != "ldap://other/" {
		t.Fatalf("recorded %+v", rec)
	}
}

func TestServeAnswersOtherWithoutResult(t *testing.T) {
	rec := Serve(ldap.HandlerFunc(func(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request) {
		if ldap.SessionFrom(ctx) == nil {
			t.Error("no session in context")
		}
	}), &ldap.Request{Op: ldap.OpDelRequest})
	if rec.Code() != ldap.Other {
		t.Fatalf("code %d", rec.Code())
	}
}

func TestRecorderErr(t *testing.T) {
	rec := NewRecorder()
	rec.Err = ldap.ErrAbandoned
	if err := rec.WriteEntry(&ldap.Entry{DN: "cn=x"}, false); !errors.Is(err, ldap.ErrAbandoned) || len(rec.Entries) != 0 {
		t.Fatalf("err %v entries %d", err, len(rec.Entries))
	}
}
