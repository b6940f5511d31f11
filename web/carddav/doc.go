// Package carddav is Switchboard's CardDAV surface (RFC 6352): address
// books on the public HTTP listener (package web), for the contact apps of
// phones and laptops.
//
// # Model
//
// Every request authenticates with HTTP Basic (web.Server.Basic) and acts
// through the user's own LDAP connection, so the access rules decide what
// each user sees and may change; nothing here reads the engine directly.
//
// # URLs
//
//	/.well-known/carddav            301 to the prefix (RFC 6764)
//	/dav/                           root: current-user-principal
//	/dav/u/<uuid>/                  the user's principal and address book
//	                                home; <uuid> is the user entry's
//	                                entryUUID (another user's is 404)
//	/dav/u/<uuid>/directory/        the directory book (read-only): every
//	                                entry matching the people filter that
//	                                the user may read
//	/dav/u/<uuid>/directory/<entryUUID>.vcf
//	/dav/u/<uuid>/<book>/           a personal book (read-write); a user
//	                                without one gets "contacts" on the
//	                                first PROPFIND of the home
//	/dav/u/<uuid>/<book>/<card>     a card, named as the client PUT it
//
// Personal books live in the directory below their owner's entry
// (classes switchboardAddressBook and switchboardCard of package schema;
// see store.go for the layout), so they replicate and are backed up with
// everything else; the default access rules let a user create, change
// and delete entries below their own and keep the vCards private.
//
// A .vcf file of many cards goes into a personal book offline with
// "switchboard import --format vcard": Split cuts it into cards, Limits
// checks each as PUT does, and ImportName names each after its UID, so
// that importing a card again replaces it.
//
// # Methods
//
// OPTIONS; PROPFIND with Depth 0 or 1 (infinity is 403
// propfind-finite-depth); GET and HEAD with ETag and If-None-Match; PUT
// with If-Match and If-None-Match, storing the vCard verbatim; DELETE with
// If-Match; REPORT addressbook-multiget, addressbook-query (prop-filter
// with text-match or is-not-defined on any property, so FN, EMAIL, TEL
// and ORG; collations i;unicode-casemap, i;ascii-casemap, i;octet) and
// sync-collection (RFC 6578). Directory cards are served as vCard 3.0
// unless the Accept header or address-data asks for 4.0; personal cards
// as stored. ETags are a hash of the bytes served.
//
// # Sync tokens
//
// A sync token is the cookie of an RFC 4533 refreshOnly sync search of
// the collection, run over the user's connection (so the access rules
// apply to what it reports), wrapped as
//
//	urn:x-switchboard:sync:<hash of user and collection>:<base64url cookie>
//
// A token of another collection is 403 valid-sync-token, as is one the
// change log no longer covers (the sync search ends with
// e-syncRefreshRequired): the client lists the collection again. Removed
// directory cards are named by entryUUID; a card removed from a personal
// book through CardDAV is recorded in the book (switchboardCardRemoved),
// and a removal the book has no record of (an LDAP delete) makes the
// token invalid.
//
// # Limits
//
// Config.MaxCardBytes and MaxPhotoBytes bound a stored card and its
// PHOTO (413 with max-resource-size); MaxRequestBytes bounds PROPFIND and
// REPORT bodies (8 MiB by default: vdirsyncer multigets a whole book in
// one request). A request body with a DTD is refused (no entity is
// expanded), as is one nested deeper than 32 elements; a path or href segment that is empty, "." or "..", or has
// control characters is 400.
//
// # vCards
//
// Parse and Card.Encode read and write vCard 3.0 (RFC 2426) and 4.0
// (RFC 6350): one card per resource, UTF-8, CRLF or LF line breaks,
// folded lines unfolded on reading and folded at 75 octets on writing.
// Property values are kept as written (escapes included), so that a card
// stored and served again keeps every property, mapped or not.
// PersonCard renders an inetOrgPerson entry as a vCard; CardAttrs maps a
// card back to the attributes it gives values for:
//
//	FN          displayName, else cn
//	N           sn;givenName
//	EMAIL       mail (each)
//	TEL         telephoneNumber (work,voice), mobile (cell), homePhone
//	            (home,voice), facsimileTelephoneNumber (fax), pager (pager)
//	ORG         o;ou...
//	TITLE       title
//	ROLE        employeeType
//	ADR         work: postOfficeBox;;street;l;st;postalCode; (LABEL from
//	            postalAddress in 4.0); home: homePostalAddress in the
//	            street component
//	PHOTO       jpegPhoto: ENCODING=b;TYPE=JPEG in 3.0, a data: URI in 4.0
//	URL         labeledURI (the URI, without its label)
//	NOTE        description
//	CATEGORIES  businessCategory
//	UID         entryUUID (urn:uuid: in 4.0)
//	REV         modifyTimestamp
package carddav
