// Package carddav is Switchboard's CardDAV surface (RFC 6352): address
// books on the public HTTP listener (package web), for the contact apps of
// phones and laptops.
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
