package ldap

// This file holds the one test of "is this DN within that base", which
// search, persistent search and sync, access rules and replication scope
// all use. It works on normalised DN strings (the form schema.NormalizeDN
// produces: RDNs joined by unescaped commas, every special character of a
// value escaped with a backslash), so it never parses.

// IsBelowNDN reports whether the normalised DN ndn lies strictly below the
// normalised DN base. Everything but the root DSE ("") lies below "". The
// comma that joins ndn's extra RDNs to base must not be escaped: "cn=a\,
// ou=x" is one RDN, not an entry below "ou=x".
func IsBelowNDN(ndn, base string) bool {
	if base == "" {
		return ndn != ""
	}
	i := len(ndn) - len(base) - 1 // the joining comma
	if i < 1 || ndn[i] != ',' || ndn[i+1:] != base {
		return false
	}
	return !escapedAt(ndn, i)
}

// ParentNDN returns the normalised DN directly above ndn, "" for a DN of
// one RDN (or the root DSE).
func ParentNDN(ndn string) string {
	for i := 0; i < len(ndn); i++ {
		if ndn[i] == ',' && !escapedAt(ndn, i) {
			return ndn[i+1:]
		}
	}
	return ""
}

// InScopeNDN reports whether the normalised DN ndn is selected by a
// search of scope around the normalised DN base (RFC 4511 4.5.1.2, and
// ScopeChildren for subordinateSubtree). An unknown scope selects nothing.
func InScopeNDN(ndn, base string, scope Scope) bool {
	switch scope {
	case ScopeBaseObject:
		return ndn == base
	case ScopeSingleLevel:
		return ndn != "" && IsBelowNDN(ndn, base) && ParentNDN(ndn) == base
	case ScopeWholeSubtree:
		return ndn == base || IsBelowNDN(ndn, base)
	case ScopeChildren:
		return IsBelowNDN(ndn, base)
	}
	return false
}

// escapedAt reports whether the byte at i of s is escaped: preceded by an
// odd number of backslashes.
func escapedAt(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}
