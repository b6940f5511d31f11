// Package access is Switchboard's access control: an ordered list of
// rules in OpenLDAP's olcAccess model, which directory administrators
// already know. The frontend (directory/frontend) asks it on every
// operation and for every entry and attribute it returns; the root DN
// bypasses it.
//
// # Rules
//
// A rule is one line of text:
//
//	to <what> by <who>... <access> [by <who>... <access>]...
//
// <what> selects entries and attributes. It is "*" (everything) or any of
//
//	dn.<style>="<DN>"   style base (also exact, or plain dn=), one, subtree, children
//	filter=<filter>     an RFC 4515 filter the entry's stored attributes must match
//	attrs=<a>,<b>,...   attribute types (their subtypes included) and the
//	                    pseudo-attributes "entry" (the entry itself) and
//	                    "children" (the entries below it)
//
// A rule without attrs= covers every attribute and both pseudo-attributes.
//
// <who> is one or more terms, all of which must hold: "*" is anyone, and
//
//	anonymous    a client that has not bound
//	users        any authenticated client
//	self         the client bound as the entry being accessed
//	self.children  the client bound as an ancestor of the entry (the
//	             entries below a user's own)
//	dn.<style>="<DN>"  the client's DN (styles as above)
//	group="<DN>" a member of that groupOfNames (member, nested groups
//	             included) or groupOfUniqueNames (uniqueMember)
//	network=<CIDR>     the client's address, e.g. network=10.0.0.0/8
//	tls          the connection has TLS (LDAPS or StartTLS)
//
// <access> is a level, each including those before it,
//
//	none < disclose < auth < compare < search < read < write
//
// or add / delete (read plus one half of write), or an explicit privilege
// set "=dxcsraz" (d disclose, x auth, c compare, s search, r read, a add,
// z delete; w is a and z).
//
// # Evaluation
//
// For an entry and an attribute (or pseudo-attribute), the first rule
// whose <what> matches decides; within it the first "by" clause whose
// <who> holds grants its access; if none holds, nothing is granted (no
// fall-through to later rules). No matching rule grants nothing: the
// default is deny. What each operation needs (the frontend checks it):
//
//	bind         auth on userPassword, as the anonymous subject the
//	             connection is while it binds (network and tls still apply)
//	search       search on the base's entry; search on each filter attribute,
//	             else the item is Undefined; read on each returned entry and
//	             attribute (sort keys, matched values and read-entry controls
//	             see only readable attributes)
//	compare      compare on the attribute
//	add          add on the parent's children, on the new entry's entry and
//	             on each attribute given
//	delete       delete on the entry's entry and the parent's children
//	modify       add (add values), delete (delete values) or write (replace,
//	             increment) on each attribute changed
//	modify DN    write on the entry, delete on the old parent's children,
//	             add on the new parent's children
//	password modify (RFC 3062)  write on the target's userPassword
//
// When an operation is refused on an entry whose entry pseudo-attribute
// the client may not disclose, the answer is noSuchObject, exactly as for
// an entry that does not exist, and a noSuchObject never carries a
// matchedDN the client may not disclose: a client learns nothing of what
// it may not see (OpenLDAP's disclose privilege).
//
// # Defaults
//
// DefaultRules, used when the configuration has none, reads:
//
//	to dn.base="" by * read
//	to dn.base="cn=Subschema" by * read
//	to attrs=userPassword [by group=ADMINS write] by self write by anonymous auth by * none
//	to attrs=pwdHistory by * none
//	to attrs=switchboardName,switchboardVCard,switchboardCardRemoved [by group=ADMINS write] by self.children write by * none
//	to attrs=children [by group=ADMINS write] by self write by self.children write by users read by * none
//	to attrs=entry,objectClass [by group=ADMINS write] by self.children write by users read by * none
//	to attrs=telephoneNumber,mobile,jpegPhoto [by group=ADMINS write] by self write by users read by * none
//	to * [by group=ADMINS write] by users read by * none
//
// # Examples
//
// Let help-desk staff reset passwords but not read them, let a
// monitoring network search without binding, and hide contractors' phone
// numbers from everyone but themselves:
//
//	to attrs=userPassword by group="cn=helpdesk,ou=groups,dc=example,dc=com" =wx by self write by anonymous auth by * none
//	to filter=(employeeType=contractor) attrs=telephoneNumber by self read by * none
//	to dn.subtree="ou=people,dc=example,dc=com" by network=10.20.0.0/16 search by users read by * none
//	to * by users read by * none
//
// # Cost
//
// A Policy is compiled once: DNs normalised, attribute lists expanded to
// their subtypes, filters compiled. Policy.For binds a requester to it per
// request and decides every subject term but self there (group
// memberships come from the caller, which caches them). Requester.Entry
// finds the rules selecting an entry, once per entry, into a fixed bit set;
// EntryAccess.Attr then walks only those rules. Neither allocates. For a
// search, Requester.Static tells which attributes are decided for the whole
// search scope, so that only the others cost a check per entry.
package access
