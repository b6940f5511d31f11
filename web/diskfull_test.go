package web

import (
	"errors"
	"fmt"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
)

func TestDiskFull(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{goldap.NewError(goldap.LDAPResultUnwillingToPerform, errors.New("the store's disk is full: writes are refused until space is freed")), true},
		{fmt.Errorf("store the card: %w", goldap.NewError(goldap.LDAPResultUnwillingToPerform, errors.New("the store's disk is full: the write was not made"))), true},
		{goldap.NewError(goldap.LDAPResultUnwillingToPerform, errors.New("no renaming across servers")), false},
		{goldap.NewError(goldap.LDAPResultOther, errors.New("the store's disk is full")), false},
		{goldap.NewError(goldap.LDAPResultUnwillingToPerform, nil), false},
		{errors.New("the store's disk is full"), false},
		{nil, false},
	} {
		if got := DiskFull(tc.err); got != tc.want {
			t.Errorf("DiskFull(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
