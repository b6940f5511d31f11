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
// CSNs, their text and binary forms and the RFC 4533 cookie are
// defined in package change.
//
// # Packages
//
// Replication is five packages; imports point down this list:
//
//   - replication/adminhttp: the admin HTTP API under /replication
//     (Handler). It renders and drives a Replicator through its exported
//     methods; nothing imports it but the server command.
//   - replication (this package): the Replicator that wires the merge
//     rules to the store and the change log, the Peer that pulls and the
//     Supplier that serves pulls and snapshots, reinitialisation and the
//     RFC 4533 consumer. It does not import net/http.
//   - replication/changelog: the store's one durable change log (the
//     Changelog, the engine's Stamper and last write hook, with Since and
//     Coverage for RFC 4533), its records (LogRecord) and their codec,
//     its key layout and consumer table (Position), trimming, and the
//     migration of format 1 stores. It knows the Replicator only as the
//     changelog.Bounds it is given with Changelog.Share (how far a trim
//     may go, and word of what a trim removed).
//   - replication/wire: the pull and snapshot messages and their binary
//     forms (PullRequest, PullResponse, Snapshot*, Vector, Generation,
//     Sealing). Encoding and decoding only; imports merge.
//   - replication/merge: the merge rules, pure and tested on their own
//     (tables, the datadriven cases in merge/testdata, fuzzing,
//     simulation): the replicated State, the operations (Op) and how
//     concurrent ones merge, the binary forms of operations and entry
//     states, and the Clock. It imports nothing with I/O and, from this
//     module, only change and ldap.
//
// TestLayering (layering_test.go) fails if merge or wire come to depend
// on a store, net/http or the packages above them, if changelog imports
// this package or adminhttp, or if this package imports net/http. Op,
// State, UUID, Vector, Changelog, LogRecord and the other types of merge,
// wire and changelog in this package's API are aliases of theirs.
//
// # Key layout
//
// Replication keeps its records in the store as side records under
// directory.PrefixReplication ('r'). The change log's keys (r o: the
// log records, r O: their floors, r p: the consumer table) are described
// in package changelog, with the log itself (its records, coverage,
// trimming, the format 1 migration and the safe CSN). The others are
// multi-supplier replication's and the RFC 4533 consumer's (described
// below):
//
//	r g                         -> generation (16 random bytes)
//	r s | UUID (16)             -> an entry's replicated state (State.AppendEntryState)
//	r k                         -> checkpoint: purge floor CSN (16) | vector
//	r m                         -> store mark: uvarint n | checkpoint (n) | uvarint m | m UUIDs (16)
//	r i                         -> reinitialisation in progress (the snapshot ID)
//	r y | name                  -> an RFC 4533 consumer's cookie (Syncrepl)
//
// This and package changelog's are the only description of the store's
// keys, the entry states of package merge's included. Nothing else under
// 'r' records changes.
//
// # Multi-supplier replication
//
// With a Replicator, every replica accepts writes and pulls the others'.
// The replicated State (see "Replicated state on disk" below) is the
// truth; the store holds what State.Materialize resolves it to.
//
// Local writes: the Replicator is the engine's Stamper (wrapping the
// Changelog) and a write hook. Local writes commit concurrently (their
// fsyncs are shared), though never while resolved entries or a remote
// batch are being written (Stamp takes the write lock shared, Settle
// releases it); the hook turns the committed-to-be change into Ops (an add with every
// attribute, operational ones included; a modify as the difference
// before -> after; a delete per removed entry; a modrdn plus a modify for
// the attributes it changed; every write a hook derived, such as
// memberOf's referential integrity, as a modify with a CSN of its own)
// and stores them in the change log, as replicated records, in the
// write's transaction. After the commit they are applied to the
// State.
//
// Derived attributes: what an overlay derives must come out the same on
// every replica, whatever order the changes arrived in, so it is derived
// from the resolved State, never from one replica's order of arrival.
// memberOf is not replicated at all: it is computed when read from the
// member and uniqueMember values the store holds (see the memberof
// overlay), so it converges when they do. Their referential integrity
// (a group names only existing entries) is a rule of materialisation,
// MultiConfig.References, set when the memberof overlay is enabled:
//
//   - a value of member or uniqueMember (without its #'bits'B suffix) is
//     shown only while it names an entry the same materialisation shows
//     live: not deleted, not glue, at that DN (compared by the names'
//     equality rules; a conflict's loser is shown at its entryUUID DN,
//     so the value names the winner);
//   - the overlay's placeholder DN is always shown, and an attribute
//     whose every value is hidden shows the placeholder instead
//     (groupOfNames requires a member);
//   - hidden values stay in the State: a value names a DN, not an entry,
//     so it is shown again when an entry is added or renamed to that DN,
//     as a member naming a not yet existing entry is shown once it
//     exists. The rule never writes a change of its own.
//
// The rule is a function of the resolved State, so every replica shows
// the same groups: a person deleted on one replica while another adds it
// to a group is in no group anywhere; a person renamed while another adds
// its old DN to a group is not a member by its old DN. The referential
// integrity hook still runs where a delete or rename is made (its
// modifies replicate as before, and keep the State free of values the
// rule would hide); the rule covers what that replica had not seen. It
// needs the same memberof configuration on every replica (a replica with
// another placeholder, or without the overlay, materialises other
// groups, and its digest differs). Cost: a group is rebuilt when it
// changes or an entry its values name appears, goes or is renamed. Its
// first build parses and looks up each value (about 1.5 µs of CPU per
// value: 15 ms for a 10,000-member group, BenchmarkReferenceRuleGroup);
// later builds take each verdict again from the previous build, and
// parse only new values and those naming a DN that round's changes
// showed, hid or renamed (BenchmarkRound). The Shown keeps, per value of
// a visible group, 16 bytes: hashes of the value and of the DN it names,
// and the verdict.
//
// Remote changes: a Peer pulls batches from a supplier (below); each
// batch is stored in the change log in one transaction (the vector advances
// with it), then applied to the State. A CSN further ahead of the local
// clock than MaxSkew quarantines the peer instead (ErrQuarantined): no
// change of that batch is applied, the peer is not pulled from until an
// administrator resumes it, and the admin API and metrics report it.
//
// Resolution: whenever the State changed, Run materialises what changed
// (at most every MultiConfig.Settle) with State.MaterializeChanged, and
// writes every rebuilt entry whose canonical form differs from what the
// store holds (a fingerprint key per entry is kept in memory) through
// directory.Engine.ReplaceEntriesLogged, which keeps the indexes and the
// entry cache right and runs no hook (the overlays ran where the change
// was made), and records each written entry in the change log as a feed
// record under a local CSN, so that sync consumers and persistent
// searches of any replica see the changes of every replica. Only the entries whose
// state changed are rebuilt, plus those a change elsewhere renamed, moved,
// hid or turned into glue. The resolved placement of every entry is
// kept between rounds and patched for modifies, adds of leaves,
// deletes of leaves and entries added and deleted in one round
// (microseconds per change); a move, a name conflict,
// an orphan's parent arriving or a purge resolves the whole State again
// (about 20 ms per 10,000 entries). An entry a local write touched
// after the materialisation started is left for the next round, so a
// client never sees its write undone by a stale resolution. The replica's digest is kept up to date
// entry by entry (see State.Digest).
//
// Crash safety: a change is in the change log, atomically with the local
// write or the vector, before it is acknowledged or applied. After each
// resolution the Replicator stores the state of every entry the State
// changed since the last one (State.TakeUnsaved, State.AppendEntryState;
// an entry gone from the State loses its record), in any number of
// transactions, and then the checkpoint, with the write lock held alone
// (so that no local write is in flight below the vector): the State's purge floor and the
// vector those records stand at. Open loads the records and the
// checkpoint, then applies every op above the checkpoint vector (Apply
// is idempotent and commutative, so records newer than the checkpoint,
// left by a crash before it, are harmless); a store without a checkpoint
// (written by an earlier version) replays its whole change log and is
// migrated by its first resolution. The first resolution also repairs
// any entry a crash left behind. Stored entries the State does not know
// (an offline load, or replication switched on for an existing
// directory) are recorded as local adds at start, 1,000 at a time, each
// batch's entry states stored with a checkpoint as it goes so that the
// cache's bound holds (an unsaved entry's stamps stay in memory), and
// the store's pages that the batches mapped handed back every 100,000
// entries (directory.Engine.ReleaseMappedPages; the server does the same
// after the first resolution): what seeding writes is twice a single
// supplier's store, and would otherwise all stay in the RSS. Open
// decodes only the placements of each stored state (see below); the
// first resolution then reads every entry's stamps once, through the
// cache, as it fingerprints the store, and keeps only the entries that
// differ from what the store holds (MaterializeChangedFunc).
//
// Memory: per entry, a replica keeps its placements in the State, the
// resolved view, what the last resolution showed (DN, placement,
// fingerprint) and the store's mirror (entry ID and an 8-byte key of the
// stored entry's fingerprint): about 1 KB (BenchmarkResolvedHeap), plus
// the attribute stamps of the entries the cache holds.
// Replicator.HeapEstimate adds these up for the server's soft memory
// limit.
//
// Known replicas: a consumer's pull request carries its replica ID and
// vector, and a supplier's response its vector; the Replicator keeps,
// per replica, the vector last reported, when, whether it consumes this
// replica's log, and whether it was refused (saved in the consumer
// table, r p | 'r', at each maintenance round). A replica not seen for
// TombstoneWindow is forgotten; a refused one bounds nothing.
//
// Maintenance (every MaintenanceInterval) saves the State and purges it
// below the bound min(now - TombstoneWindow, for each known replica and
// each origin it lags on here, its position there): by then every change
// below the bound has arrived (a replica cut off for longer is refused,
// below), and no replica still lacks a deletion being forgotten, which is
// Purge's precondition. The State is saved once before purging, so a
// crash between the purged records and the next checkpoint replays only
// changes at or above the bound. It then trims the change log: per
// origin, the oldest records older than OpLogMaxAge or beyond
// OpLogMaxOps, but only those at or below the saved checkpoint (the
// stored State holds them) and at or below every registered position (a
// consumer that has seen nothing of an origin holds all of it); the
// origin's floor rises to the last record removed. The Changelog's own
// trim keeps to the same bounds.
//
// Refusals: a consumer whose vector is below a floor of this log is
// refused (PullReinit): the changes it lacks are gone. A replica that
// lacks a change below this replica's purge floor (it was cut off for
// longer than the tombstone window) is refused both ways: its pulls are
// answered PullReinit (unless it has no data at all: a new replica
// catches up from the log while the log covers it), and its changes are
// not taken when this replica pulls from it (ErrStalePeer), since they
// may name entries whose tombstones are gone. Either side reports the
// other in state "reinitialise" in the admin API (peers, replicas), the
// refusal is counted in the metrics and logged with its reason, and
// nothing is applied on either side. Which side must be reinitialised is
// the one that was away; the reasons say what lacks what.
//
// Limits of this version: a replica first heard of is only known once it
// has exchanged with this one: a configured peer that never pulled holds
// no log here, unless it answered a pull of this one while empty (it is
// then known as a consumer that has seen nothing).
//
// # Replicated state on disk
//
// The State keeps in memory, for every entry, only what resolving names
// and the tree needs: its add and delete stamps and its placements
// (parent, RDN, CSN; a few hundred bytes). The attribute stamps (every
// value with its add and remove CSNs: the bulk, several KB per entry)
// stay in memory for at most MultiConfig.StateCacheEntries entries
// (replication.state_cache_entries, default 10,000); the others are read
// back from their r s record (State.SetSource, a StateSource) when a
// change to the entry is applied, the entry is materialised, encoded
// for a snapshot, or (a stub never added) considered by a purge. An
// entry leaves memory (second-chance eviction) only once its state is
// stored: never while unsaved, nor between TakeUnsaved and Saved, so the
// record read back is always current. A Purge does not read evicted
// entries: their stamps are purged when next read (purging is
// idempotent, and a bound subsumes every lower one), and stored again
// when they next change. Open decodes only the placements of each r s
// record. Resolution and snapshot encoding, which read into the cache
// under the state's read lock, exclude each other (the cache is not safe
// for concurrent use); the other readers (status, pulls) never touch it. A failure to read a record is sticky
// (State.Err): the Replicator then stores neither states nor a
// checkpoint (an Apply may have been lost), and a restart recovers from
// the stored states and the op log.
//
// Its side records (r g, r s, r k, r m, and the change log's r o, r O,
// r p) are listed under "Key layout" above.
//
// Restarts: the first resolution after a start would rebuild every
// entry to find what differs from the store (minutes at a million
// entries, the State's read lock held throughout). The store mark r m,
// written in the checkpoint's transaction, lists the entries whose
// changes the store may not hold yet (changed since the last resolution,
// or taken by one that has not written them; at most 20,000, else no
// mark) beside a copy of that checkpoint. A start that finds the mark
// beside the same checkpoint takes every other stored entry as shown
// (merge.State.ResumeShown: those the resolved view shows live at the DN
// the store holds, and holding no reference values) and rebuilds only the
// rest, the mark's list and what the op log replays above the checkpoint.
// No mark, or one beside another checkpoint (after a reinitialisation,
// before the first full resolution, or written by an older binary): every
// entry is rebuilt, as before.
//
// These records carry no store version of their own: the store's format
// version (package directory, 0x00 "format") covers them, and a change to
// their layout is a new store format with a directory.Migration that
// rewrites them (passed in directory.Options.Migrations). The version byte
// inside some values (records, ops, entry states) tells encodings within
// one format apart: entry states are written in format 3 (each stamp a
// reference to a table of the entry's CSNs, about a third of format 1's
// size), and formats 1 and 2 of earlier versions are read, in the store
// and in snapshots, and rewritten as format 3 when the entry next changes.
// A replica of an earlier version refuses a snapshot in format 3 (as an
// invalid entry state): reinitialise from a replica of its version, or
// upgrade it first; pulls are unaffected.
//
// A vector is a uvarint count, then per origin in increasing order the
// origin (2 bytes) and its CSN (16); a reason a uvarint length and text.
// The vector (per origin, the largest CSN applied) is the checkpoint's,
// raised by the ops replayed above it (and by the log's floors). The
// generation is made by the first write of a store and adopted by a
// replica that has none at its first pull; a replica of
// another generation is refused (PullReinit) and must be reinitialised
// (online: POST /replication/peers/{name}/reinit; a new replica:
// switchboard replica join), see "Snapshots and reinitialisation".
//
// # Joining
//
// A replica without a generation (an empty store) that has peers takes
// no local write until it has one, since a write before its first pull
// would make a generation of its own that its peers refuse for good. A
// local write there waits up to 10 s (Stamp, holding no lock, so pulls go
// on) and is refused (unavailable, naming switchboard replica join) if
// the replica has not joined by then. It adopts a peer's generation at
// its first pull from one that has data; it founds one only when it has
// no peers, or when every peer answered within the last 30 s that it has
// none and its replica ID is the lowest of them all (of several empty
// replicas started together, exactly one takes the first write; founding
// therefore needs every configured peer up). switchboard replica join
// seeds a new replica's store from a snapshot before it serves (and with
// --replace drops the data of a used one).
//
// # Lag and divergence
//
// Per peer, GET /replication shows both ways: what this replica lacks of
// the peer (lag_changes: what the peer said it still holds for it;
// lag_seconds: how far this vector trails the peer's in CSN time) and
// what the peer lacks of this replica (peer_lacks_changes: the ops of this
// change log (replicated records) above the vector the peer last reported, in its pull requests
// here or its pull responses, at most 10,000; peer_lacks_seconds; and
// oldest_unacknowledged_seconds: the age of the oldest change made here
// above that vector). A peer is known by replica ID once it has answered a
// pull. A peer that has not answered for max(5 s, 20 pull intervals) is
// shown "stalled". A peer refused because one side must be reinitialised
// is logged at error level ("DIVERGED") at every refused pull, every 30 s,
// and shown under "diverged" (peer and status) with the endpoint or
// command that fixes it. The same figures are Prometheus gauges
// (switchboard_replication_peer_lag_changes and _peer_lag_seconds by
// direction in/out, _peer_oldest_unacknowledged_seconds, _peer_up,
// _diverged).
//
// # Pull protocol
//
// A consumer binds (as the root DN or a DN in replication.consumers) and
// sends the extended request OIDPull; the request value is PullRequest's
// binary form, the response value PullResponse's (see their AppendBinary
// for the byte layout). The supplier answers, per origin in its change log,
// the Ops above the consumer's vector in CSN order, at most MaxOps and
// about 4 MB at once, with More set when it holds more (the consumer asks
// again at once), how many changes it still holds for the consumer (up to
// 10,000), its vector and clock; the request's Consumer (the consumer's
// replica ID) and vector are recorded as that replica's position. What a
// replica serves of an origin is a prefix of that origin's history (a
// supplier serves its own changes only below Changelog.Committed, under
// which every local write has ended, and a consumer only ever extends its
// prefix with the supplier's), of which its change log holds the part above
// the origin's floor, so the consumer's vector is exact and a batch cut
// anywhere resumes cleanly. An origin of which the consumer has all the
// supplier applied (its own: all, and none in flight below) is not read:
// the feed records a resolution writes on the supplier's own origin would
// otherwise be read again at every pull until its next local write.
//
// A consumer pulls again after its peer's interval once it has caught
// up, at once while the supplier has more; after a failed pull it waits
// twice as long each time, up to 1 s, and a pull from the supplier's
// replica ends that wait (the link is up again), so a healed partition
// is caught up from the first pull either side makes. A replica's peers
// take turns: a pull waits for the one from another peer being made and
// applied and asks from the vector it left, so two peers holding the
// same changes do not both send them; a turn held for a second (a peer
// that stopped answering) is not waited for.
//
// # Sealed attributes
//
// The values of sealed attributes (directory.Sealer, the configuration's
// encryption.attributes) are never in clear outside the process: not in
// the change log, not in entry states (r s records), not on the wire. A
// pull serves ops as the log stores them (sealed values sealed, their
// names preceded by 0x00; a value logged before its attribute was sealed
// is sealed as it is served), and a snapshot sends entry states as
// stored. Entry state format 4 (EntryStateSealed) is format 3 with each
// sealed attribute's name preceded by 0x00 and each of its values sealed;
// an entry without sealed values has format 3 (formats 2 and 1 are the
// same before the table of CSNs, see State.AppendEntryState).
//
// A supplier that seals attributes says so in its pull and snapshot
// responses (version 2 of each; version 1 otherwise, as before): the
// KeyID of its sealing key (the first 8 bytes of HKDF-SHA256(master key,
// info "switchboard attribute sealing key id v1"), which names the key
// without revealing it) and the attributes it seals. The consumer
// (checkSealing) takes a batch or a snapshot only if it seals the same
// attributes under the same key (and, for values sealed in a log by a
// supplier that no longer lists them, only if its key opens them); it
// opens the values to apply them to its State, and its own change log
// and entry states seal them again. Otherwise nothing of the batch or
// snapshot is applied: the pull fails with ErrSealing (logged at error
// level, "REFUSED", at most every 30 s; the peer shown in state "error"
// with the reason in GET /replication), and a reinitialisation or
// switchboard replica join fails naming it. So every replica of a
// topology needs the same master key (the sealing key derives from it)
// and the same encryption.attributes; the configuration refuses
// encryption.attributes with multi-supplier replication and no key.
//
// # Snapshots and reinitialisation
//
// A replica the change logs no longer cover (refused with PullReinit: another
// generation, or a log trimmed past its vector) is reinitialised from a
// snapshot of a supplier: Replicator.Reinitialise, the admin API's
// POST /replication/peers/{name}/reinit, and switchboard replica join.
//
// The consumer sends the extended request OIDSnapshot (same binding and
// authorisation as a pull); the value is SnapshotRequest's binary form,
// the response's SnapshotResponse's (see their AppendBinary):
//
//	request:  version (1) | consumer (2) | snapshot ID (16, zero: take one)
//	          | cursor UUID (16, zero: from the start) | max bytes (uvarint)
//	response: version (1; 2 with sealing) | status (1: 0 ok, 1 gone)
//	          | snapshot ID (16) | generation (16) | supplier (2)
//	          | flags (1: 1 done) | State floor CSN (16) | vector
//	          | total entries (uvarint) | reason | [version 2: sealing
//	          key ID (8) | n (uvarint) × name] | n (uvarint) × (UUID (16)
//	          | entry state (uvarint length, State.AppendEntryState))
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
// The consumer checks each entry state whole as it arrives, keeps it
// encoded as received (back to back, several times smaller than
// decoded), and loads only its placements into a new State whose source
// is that buffer. Installation, once the whole snapshot is received:
// under the write lock (local
// writes wait), the marker r i is written; from then until it is removed
// local writes are refused (unavailable), pulls and snapshots from this
// replica are refused (unavailable), and a replica restarted with the
// marker present reports "reinitialise" (GET /replication), refuses
// writes, pulls nothing and resolves nothing until a reinitialisation
// completes. Every replicated record of the change log is deleted
// except, in the same generation, those above the snapshot's vector that
// continue it (this replica's changes its supplier had not pulled yet are
// kept and applied on top), unless the first of them of its origin is
// below the snapshot's purge floor: a replica cut off for longer than
// the tombstone window loses its changes of that origin from then on
// (logged), since its peers would refuse them and, kept, they would make
// it refuse every peer as stale; a feed record above the snapshot's vector for
// its origin stays, without its op, so that RFC 4533 cookies stay covered;
// the state records r s, the checkpoint r k (its store mark r m dropped) and the floors r O are
// replaced by the snapshot's (r O = its vector: the log starts there);
// the new State, vector and generation replace the old; then the store is
// resolved through the change log (every entry rewritten or removed is a
// feed record, so a syncrepl consumer is brought to the new content from
// its cookie; persistent sessions are cut off and search again) and the
// marker removed. Pulls then go on from the snapshot's vector. One case
// is not caught: a cookie below the local origin's floor before a
// reinitialisation into another generation, presented again after it,
// is taken as covered (the floor falls to the snapshot's); such a
// cookie was refused before, and its consumer refreshed in full.
//
// Joining an empty store with Replicator.Join (what switchboard replica
// join does for a store without entries) writes in bulk instead: the
// snapshot's entry states and its materialised entries
// (State.MaterializeEach, built one at a time, in parent-first order,
// none kept) go through the engine's bulk loader (directory.Loader, as switchboard
// import does: sorted runs merged into Badger's StreamWriter, with the
// store's other side records carried over except the marker, which is
// gone once the load is). Join owns the engine from its start: the
// Replicator no longer resolves, applies pulled changes, saves its state
// or takes local writes, and the engine refuses every other write while
// the loader runs (a write racing the StreamWriter is lost, or hangs in
// Badger). The engine must then be closed before it serves (the load
// replaced its tables underneath it). A crash before the loader drops
// the old tables leaves the marker (the store is incomplete); one after
// leaves the loader's mark file, and the next Open empties the store:
// either way, join again (an empty store is joined in bulk again). So
// that the joiner's heap does not grow with the snapshot's bytes, Join
// writes the entry states to a file beside the loader's runs as they
// arrive (keeping each one's UUID and offset: 24 bytes), decodes only
// their placements on receipt, and decodes each state whole once: as it
// materialises a visible entry, or, for the others (deleted entries,
// glue), as it adds the state to the load. A state it cannot read fails
// the join before the loader writes the store.
//
//	r i -> reinitialisation in progress (the snapshot ID)
//
// Peers talk plain TCP or TLS (ldaps://, or StartTLS on ldap://):
// PinnedTLS trusts a peer by the SHA-256 of its public key and presents
// this replica's certificate, with which it binds by SASL EXTERNAL.
//
// # RFC 4533 consumer
//
// A Syncrepl (syncrepl.go) consumes the sync feed of any RFC 4533
// provider (OpenLDAP slapd with syncprov, another Switchboard) with
// go-ldap's client: refreshOnly polls, refreshAndPersist stays
// connected. Entries keep the provider's entryUUID (the identity a local
// entry is found by) and are written with
// directory.Engine.ReplaceEntriesWith through the Changelog: no access
// control, schema check or write hook, but indexes, the entry cache and
// the change feed (so this server's own sync provider passes them on).
// A refresh's present phase ends by removing every local entry under the
// local base that the provider did not name; a full refresh (no cookie,
// or after e-syncRefreshRequired) does the same, whatever the provider
// calls its phase. A DN map rewrites the search base to the local base in
// DNs and in DN-syntax values; an allow-list limits the attributes. During
// a refresh entries are written in batches of 500 without a cookie; the
// cookie is stored when the refresh completes and, in the persist stage,
// with every change, in the same transaction:
//
//	r y | name -> version (1) | fingerprint (8) | cookie
//
// The fingerprint hashes the provider URL, search base, scope, filter,
// attribute list and local base: a configuration change ignores the
// stored cookie (a full refresh). Everything under the local base belongs
// to the consumer; the entryUUID index of the consumer's entries is kept
// in memory (built at start from the store).
package replication
