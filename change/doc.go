// Package change is the vocabulary of directory changes that every layer
// shares: the wire layer (package ldap), the engine (directory), the
// overlays and replication. It imports only the standard library.
//
// It defines the kind of a write (Kind), the operation of one
// modification (ModOp), an attribute with its values (Attribute), the
// change sequence number that orders changes (CSN), and the RFC 4533
// synchronization cookie that carries CSNs to consumers (Cookie).
//
// # CSN formats
//
// A CSN orders all changes of a replication topology totally: by time,
// then counter, then the replica that made the change, then the
// sub-operation within it. The zero CSN sorts first and means "none".
//
// Text, as OpenLDAP's entryCSN and contextCSN (so the two servers
// interoperate over RFC 4533):
//
//	YYYYmmddHHMMSS.uuuuuuZ#cccccc#sss#mmmmmm
//
// UTC time to the microsecond, then the counter (6 hex digits), the
// replica ID (3 hex digits, 0-4095) and the sub-operation number (6 hex
// digits).
//
// Binary, for keys: 16 bytes, big-endian, so that byte order is CSN order:
//
//	[0:8]   microseconds since the Unix epoch (int64, never negative)
//	[8:11]  counter (24 bits)
//	[11:13] replica ID (16 bits, only 12 used)
//	[13:16] sub-operation (24 bits)
//
// # Cookies
//
// A Cookie is OpenLDAP's syncrepl cookie:
//
//	rid=NNN[,sid=SSS][,csn=CSN[;CSN...]][,delcsn=CSN]
//
// with at most one CSN per replica ID (the largest).
package change
