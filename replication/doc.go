// Package replication keeps several Switchboard replicas consistent.
//
// Every write is stamped with a change sequence number (CSN) from the
// replica's hybrid logical clock. CSNs order all changes of a topology
// totally: by time, then counter, then the replica that made the change,
// then the sub-operation within it. A replica never issues a CSN below
// one it has issued or seen, so local writes never fail because a clock
// was set back, and a larger CSN from a peer simply pulls the clock
// forward (within a configured bound; a peer further ahead is
// quarantined instead of dragging every replica into its future).
//
// # CSN formats
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
// # Changelog
//
// The Changelog is the engine's Stamper and its last write hook: every
// write gets a CSN from the Clock inside its transaction (stored as the
// entry's entryCSN) and its record is written in that same transaction,
// so an acknowledged write always has its record and a failed one never
// does. Records live in the store as side records under
// directory.PrefixReplication ('r'):
//
//	r l | origin (2 bytes) | CSN (16, binary) -> record
//	r f | origin (2)                          -> floor CSN (16)
//	r b                                       -> base floor CSN (16)
//	r c | consumer ID                         -> position
//
// A record is a version byte (1), the operation (1 add, 2 modify,
// 3 delete, 4 modrdn), then uvarint-length-prefixed fields: entryUUID, DN,
// and for an add every attribute with its values, for a modify the
// difference before -> after as (op, attribute, values) modifications,
// for a delete the entryUUIDs of the descendants a subtree delete removed
// (deepest first), for a modrdn the new DN and the entryUUIDs of the
// descendants that moved with it. See record.go.
//
// Coverage: the log holds every change of origin o with a CSN above
// floor(o), the CSN of the last record trimmed from o, or, if o was never
// trimmed, the base floor: zero when the log started on an empty store
// (it covers all history), the CSN of its first start otherwise (entries
// loaded before, or by the offline bulk loader, are not in it). A
// consumer whose cookie holds, for every origin with a floor, a CSN at or
// above that floor can be brought up to date from the log (RFC 4533
// delete phase); any other needs a full refresh.
//
// Trimming (Changelog.Trim, run every minute by the server) removes the
// records older than MaxAge and the oldest beyond MaxEntries, never above
// the position of a known consumer: a consumer's position (its cookie's
// CSNs, with when it was last seen) is recorded when it presents a cookie
// and when a refresh completes; a consumer that has seen nothing of an
// origin holds that origin's whole log; a consumer not seen for
// ConsumerExpiry is forgotten.
//
// The safe CSN is the largest local CSN below which every stamped write
// has settled (committed or given up); it is the local contextCSN value,
// computed when the suffix entry is read rather than written on every
// change, and the CSN a cookie may claim: commits can finish out of CSN
// order, and a cookie must never pass a change not yet visible.
package replication
