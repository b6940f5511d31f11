// Package changelog is a store's one durable change log and its
// bookkeeping: the Changelog, LogRecord and its codec, the log's keys,
// its consumer table (Position), trimming and the migration of format 1
// stores. Package replication's Replicator writes replicated operations
// into it and serves them to peers; the log knows it only as the Bounds
// it is given with Changelog.Share.
//
// A store holds one durable change log, written in the transaction of
// the change it records, so an acknowledged write always has its record
// and a failed one never does. Single-supplier servers and
// multi-supplier replicas write it alike; RFC 4533 sessions and replica
// peers (through the Replicator) read it. The Changelog is the engine's
// Stamper and its last write hook: every write gets a CSN from the Clock
// inside its transaction (stored as the entry's entryCSN) and its record
// under that CSN. It also sequences the engine's post-commit stream
// (directory.Engine.Changes), which RFC 4533 persist sessions and
// persistent searches follow: Settle publishes each commit there, in
// CSN order, once every write stamped before it has settled; the stream
// itself (the subscribers, their bounded queues) is the engine's.
//
// # Key layout
//
// Records and their bookkeeping live in the store as side records under
// directory.PrefixReplication ('r'). The log's keys (KeyRecords,
// KeyFloors, KeyPositions):
//
//	r o | origin (2) | CSN (16) -> log record (LogRecord, below)
//	r O | origin (2)            -> floor CSN: the log of origin holds every
//	                               change above it (trimming raises it)
//	r p | 's' | consumer ID     -> an RFC 4533 consumer's position
//	r p | 'r' | replica (2)     -> a replica peer's position
//
// These are the log, its floors and its one consumer table; the other
// keys under 'r' are package replication's (multi-supplier replication
// and the RFC 4533 consumer; its documentation lists them). Nothing else
// under 'r' records changes.
//
// # Records
//
// A log record (LogRecord.AppendBinary) is the format byte (2), flags
// (bit 0 replicated, bit 1 feed), the change as an Op (Op.AppendBinary:
// CSN, kind, entryUUID, and the attributes of an add or the difference
// before -> after of a modify), then, for a feed record, the DN before
// (after, for an add or modify), the DN after a modrdn and the entryUUIDs
// of the descendants a subtree delete removed (deepest first) or a
// modrdn moved, as uvarint-length-prefixed strings and a uvarint count
// of 16-byte UUIDs. Values of sealed attributes are sealed, their names
// preceded by 0x00, as in entry records. The record's meta byte in the
// store (directory.Tx.PutRecordMeta) repeats its flags with bit 7 set, so
// that a scan for replicated ops passes over feed records without reading
// their values (Unreplicated); a record written before this (meta 0) is
// read. A replicated record's Op is a
// multi-supplier operation (with parent and RDN): peers pull it and the
// Replicator replays it at start. A feed record describes a change the
// store saw, which is what RFC 4533 and persistent search follow:
//
//   - a local write of a single supplier: a feed record;
//   - a local write of a multi-supplier replica: the Replicator (an
//     earlier hook) writes the replicated op and the Changelog adds the
//     feed part to the same record; what a hook derived in the same write
//     (memberOf's referential integrity) is a replicated op of its own;
//   - a peer's change: a replicated record under the peer's origin,
//     without feed part; its effect on the store is written when the
//     replica resolves it, as a feed record under a local CSN;
//   - an entry written by an RFC 4533 consumer (Syncrepl): a feed record.
//
// Change feeds read the feed records of every origin of a single
// supplier (one that changed replica ID keeps its old origin) and of the
// local origin of a multi-supplier replica, so an RFC 4533 cookie stays
// in the replica's own CSNs.
//
// # Coverage, consumers and trimming
//
// Coverage: the log holds every change of origin o with a CSN above
// floor(o) (zero when the log holds the origin's whole history). A single
// supplier that first opens a store holding entries sets the local floor
// to a new CSN: entries loaded before, or later by the offline bulk
// loader, are not in it. A multi-supplier replica records such entries as
// local adds instead (package replication's Replicator.Open). A consumer whose cookie holds, for
// every origin change feeds read, a CSN at or above that floor can be
// brought up to date from the log (RFC 4533 delete phase); any other
// needs a full refresh.
//
// Consumers and trimming: every reader that holds the log back registers
// its position in the consumer table (value: flags (1: bit 0 consumer) |
// last seen (8, Unix µs) | vector | refusal reason, see Position): an
// RFC 4533 consumer when it presents a cookie and when a refresh
// completes (Changelog.Acknowledge), a replica peer at each maintenance
// round (the positions the Replicator keeps in memory). One trim
// (Changelog.TrimWith) removes, per origin, the oldest records beyond a
// Retention and raises the origin's floor to the last one removed, but
// never above a registered position (a position that has seen nothing of
// an origin holds all of it; an RFC 4533 consumer holds only the origins
// change feeds read; a refused replica holds nothing) nor, with
// multi-supplier replication, above the Replicator's checkpoint and the
// positions of the replicas it knows. Two retentions use it: the
// Changelog's (Trim, every minute: records older than MaxAge, the oldest
// beyond MaxEntries over all origins; RFC 4533 consumers not seen for
// ConsumerExpiry are forgotten first) and the Replicator's (at each
// maintenance: older than OpLogMaxAge, beyond OpLogMaxOps per origin).
//
// # Store format
//
// Format 1 kept two logs (the RFC 4533 changelog under
// r l, floors r f and r b, consumers r c; the op log under r o with
// floors r O and known replicas r a). Migrations upgrades such a store
// to format 2 in place: each op becomes a replicated record, with the
// feed part of the changelog record of the same change; the other
// changelog records become feed records; each origin's floor is the
// higher of its two floors (on a single supplier, the base floor r b for
// an origin never trimmed; on a multi-supplier store the base floor is
// dropped, since its op log holds every change of its entries); the two
// consumer tables become r p. A changelog record that does not decode
// (nothing could read it before either) is dropped and its origin's
// floor raised over it, so cookies older than it get a full refresh.
//
// # The safe CSN
//
// The safe CSN is the largest local CSN below which every stamped write
// has settled (committed or given up); it is the local contextCSN value,
// computed when the suffix entry is read rather than written on every
// change, and the CSN a cookie may claim: commits can finish out of CSN
// order, and a cookie must never pass a change not yet visible. With
// multi-supplier replication contextCSN is instead the Replicator's
// vector (one value per origin, as OpenLDAP's multi-provider contextCSN
// has one per serverID), equal on replicas that have converged; cookies
// stay in the replica's own CSNs (its change log records the entries
// replication rewrote under local CSNs), so a sync consumer resumes
// against the replica that gave it its cookie.
package changelog
