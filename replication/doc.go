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
//
// # Multi-supplier replication
//
// With a Replicator, every replica accepts writes and pulls the others'.
// The replicated State (see "Replicated state" below) is the truth; the
// store holds what State.Materialize resolves it to.
//
// Local writes: the Replicator is the engine's Stamper (wrapping the
// Changelog) and a write hook. Stamp takes the replica's write lock and
// Settle releases it, so local writes commit one at a time in CSN order;
// the hook turns the committed-to-be change into Ops (an add with every
// attribute, operational ones included; a modify as the difference
// before -> after; a delete per removed entry; a modrdn plus a modify for
// the attributes it changed; every write a hook derived, such as
// memberOf's referential integrity, as a modify with a CSN of its own)
// and stores them in the op log in the write's transaction. After the
// commit they are applied to the in-memory State.
//
// Remote changes: a Peer pulls batches from a supplier (below); each
// batch is stored in the op log in one transaction (the vector advances
// with it), then applied to the State. A CSN further ahead of the local
// clock than MaxSkew quarantines the peer instead (ErrQuarantined): no
// change of that batch is applied, the peer is not pulled from until an
// administrator resumes it, and the admin API and metrics report it.
//
// Resolution: whenever the State changed, Run materialises it (at most
// every MultiConfig.Settle) and writes every entry whose canonical form
// differs from what the store holds (a fingerprint per entry is kept in
// memory) through directory.Engine.ReplaceEntries, which keeps the
// indexes and the entry cache right but runs no hook and stamps nothing.
// An entry a local write touched after the materialisation started is
// left for the next round, so a client never sees its write undone by a
// stale resolution. Materialize is O(N log N) in the entries (about 70 ms
// for 10,000 entries): the store trails the State by that much.
//
// Crash safety: a change is in the op log, atomically with the local
// write or the vector, before it is acknowledged or applied; the State is
// rebuilt from the op log at start, and the first resolution repairs any
// entry a crash left behind. Stored entries the op log does not know (an
// offline load, or replication switched on for an existing directory)
// are recorded as local adds at start.
//
// Limits of this version: the whole State lives in memory (every entry
// ever added, tombstones included: a few KB per entry), and the op log is
// never trimmed nor the State purged (Purge exists, but the topology-wide
// stable bound it needs is not computed yet), so a replica's memory and
// disk grow with its history; the log therefore always covers a
// consumer, and the only refusal in practice is a generation mismatch.
// Remote changes are not written to the RFC 4533 changelog, so a syncrepl
// consumer of one supplier sees only that supplier's local writes.
//
// Side records, under directory.PrefixReplication ('r'):
//
//	r o | origin (2) | CSN (16) -> Op (Op.AppendBinary)
//	r O | origin (2)            -> CSN: the op log of origin starts after it (a reinitialisation sets it)
//	r g                         -> generation (16 random bytes)
//
// The vector (per origin, the largest CSN applied) is the last op log key
// of each origin. The generation is made by the first write of a store
// and adopted by a replica that has none at its first pull; a replica of
// another generation is refused (PullReinit) and must be reinitialised
// (switchboard replica init on an empty store).
//
// # Pull protocol
//
// A consumer binds (as the root DN or a DN in replication.consumers) and
// sends the extended request OIDPull; the request value is PullRequest's
// binary form, the response value PullResponse's (see their AppendBinary
// for the byte layout). The supplier answers, per origin in its op log,
// the Ops above the consumer's vector in CSN order, at most MaxOps and
// about 4 MB at once, with More set when it holds more (the consumer asks
// again at once), how many changes it still holds for the consumer (up to
// 10,000), its vector and clock. Every replica's log of an origin is a
// prefix of that origin's history (local writes commit in CSN order, and
// a consumer only ever extends its prefix with the supplier's), so the
// consumer's vector is exact and a batch cut anywhere resumes cleanly.
//
// # Snapshots and reinitialisation
//
// A replica the op logs no longer cover (refused with PullReinit: another
// generation, or a log trimmed past its vector) is reinitialised from a
// snapshot of a supplier: Replicator.Reinitialise, the admin API's
// POST /replication/peers/{name}/reinit, and switchboard replica init.
//
// The consumer sends the extended request OIDSnapshot (same binding and
// authorisation as a pull); the value is SnapshotRequest's binary form,
// the response's SnapshotResponse's (see their AppendBinary):
//
//	request:  version (1) | consumer (2) | snapshot ID (16, zero: take one)
//	          | cursor UUID (16, zero: from the start) | max bytes (uvarint)
//	response: version (1) | status (1: 0 ok, 1 gone) | snapshot ID (16)
//	          | generation (16) | supplier (2) | flags (1: 1 done)
//	          | State floor CSN (16) | vector | total entries (uvarint)
//	          | reason | n (uvarint) × (UUID (16) | entry state (uvarint
//	          length, State.AppendEntryState))
//
// A request without an ID makes the supplier encode its whole State,
// under the state's read lock, at the vector it stands at (with the
// generation and State floor): every entry's AppendEntryState back to
// back in UUID order, one buffer plus an index, about the size of the
// entries' data with a 16-byte CSN per value (a State.Clone would take
// several times that). The supplier holds at most two snapshots (a
// consumer asking for a new one gives up its own; a third is refused with
// busy) and drops one idle for three minutes. Each response carries the
// entries after the cursor, about 4 MB (or the consumer's max bytes), and
// the consumer asks for the next only once it has loaded them (flow
// control); after a dropped connection it asks again from its cursor, and
// if the supplier answers "gone" (expired, restarted) it starts again.
//
// Installation, once the whole snapshot is loaded into a new State
// (LoadEntryState per entry, SetFloor): under the write lock (local
// writes wait), the marker r i is written; from then until it is removed
// local writes are refused (unavailable), pulls and snapshots from this
// replica are refused (unavailable), and a replica restarted with the
// marker present reports "reinitialise" (GET /replication), refuses
// writes, pulls nothing and resolves nothing until a reinitialisation
// completes. Every op log record is deleted except, in the same
// generation, those above the snapshot's vector that continue it (this
// replica's changes its supplier had not pulled yet are kept and applied
// on top); the state records r s, the checkpoint r k and the op log floors
// r O are replaced by the snapshot's (r O = its vector: the op log starts
// there); the RFC 4533 changelog's floors are raised above every cookie
// given so far and its records dropped (every syncrepl consumer gets a
// full refresh, persistent ones are cut off); the new State, vector and
// generation replace the old; then the store is resolved (ReplaceEntries)
// and the marker removed. Pulls then go on from the snapshot's vector.
//
//	r s | UUID (16) -> State.AppendEntryState of that entry
//	r k             -> checkpoint: State floor CSN (16) | vector
//	r i             -> reinitialisation in progress (the snapshot ID)
//
// Peers talk plain TCP or TLS (ldaps://, or StartTLS on ldap://):
// PinnedTLS trusts a peer by the SHA-256 of its public key and presents
// this replica's certificate, with which it binds by SASL EXTERNAL.
package replication
