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
package replication
