// Package merge holds the merge rules of multi-supplier replication:
// the replicated State, the operations (Op) that change it and how
// concurrent ones merge (Apply, Materialize, References, sealed values
// through the Sealer interface), the binary forms of operations and
// entry states, and the hybrid logical Clock that issues CSNs.
//
// It does no I/O of its own: what it reads from a store comes through
// interfaces the caller supplies (StateSource, Sealer), and the Clock
// reads the wall clock through ClockConfig.Now (time.Now unless a test
// injects another). From this module it imports only package change
// and package ldap (for DNs); TestLayering in package replication fails
// if it depends on a store (Badger, package directory), net/http or
// another replication package. The store keys its forms are kept under
// are documented once, in package replication.
//
// # Replicated state
//
// A State holds the whole directory as replication sees it, with no
// storage behind it: for every entry ever added (until purged), keyed by
// entryUUID,
//
//   - the CSN of its add, and of its delete if it was deleted (a
//     tombstone keeps its attributes, for glue and for late changes);
//   - every placement it was given, each a (CSN, parent UUID, RDN) from
//     its add or a modrdn. A DN is never stored: it is computed from the
//     chain of parents, so renaming or moving an ancestor needs no change
//     to its descendants. The zero UUID is the root; its children's "RDN"
//     is their whole naming context DN;
//   - per attribute (names compared in lower case, the spelling of the
//     latest change kept for display) the CSN of its latest deletion as a
//     whole, and per value (compared by the Schema's equality key, the
//     spelling of the latest add kept) the CSN of its latest add and of
//     its latest removal.
//
// An Op carries a change as the originating replica made it, naming
// entries by UUID. State.Apply merges one into a State by taking maxima
// (minimum for the add CSN) and set unions, so it is commutative,
// associative and idempotent: replicas that applied the same set of Ops,
// in any order and with any repetition, hold the same State.
// State.Materialize turns a State into the entries clients see, resolving
// every conflict as a pure function of the State. Nothing in Apply
// depends on what is already there (an entry need not exist to be
// modified, a parent need not exist to receive a child), so no change
// ever waits or fails for another; Apply refuses only malformed changes,
// and every replica refuses the same ones.
//
// # Conflict resolution
//
// Each rule below, with an example (t1 < t2 < ... are CSNs).
//
// Values: a value is present when its latest add is newer than its
// latest removal and not older than the attribute's latest deletion.
// "add description: a" at t1 and "delete description: a" at t2 leave no
// a, in either order; delete at t1 and add at t2 leave a. Concurrent
// adds of a and b on two replicas leave both. "delete description" (the
// whole attribute) at t2 removes values added at t1 but not one added at
// t3. A replace is a deletion of the attribute and adds of the new values
// under one CSN: replace with c at t2 leaves c, and d added at t3, but
// not b added at t1. The changes of one modify are ordered by their
// sub-operation numbers (Mods[i] is stamped CSN.WithSub(i)), so "delete
// sn: X; add sn: X" keeps X. This is last-writer-wins per value, the
// observed-remove set by CSN that 389-ds and Active Directory use, not an
// add-wins set: a removal newer than an add it never saw still removes.
// A value whose stamps are all older than the attribute's latest
// deletion can neither show nor hide anything again and is forgotten at
// once, so that repeated replaces do not grow the entry's state.
//
// Single-valued attributes are registers: every add of a value deletes
// the attribute under the same CSN, so the latest write wins. Alice
// written at t1 on one replica and Bob at t2 on another give Bob
// everywhere; deleting Bob at t3 leaves nothing (Alice does not come
// back).
//
// Naming values: an entry always shows the values of its RDN, even if a
// concurrent modify removed them.
//
// Same DN: when visible entries have the same parent and equal RDNs, the
// one that took the name first keeps it: live entries before glue, then
// the lowest CSN of the add or modrdn that gave the entry that name,
// then the lowest UUID. Every other one is shown as
// "entryUUID=<its uuid>+<its RDN>" below the same parent, with
// switchboardConflict holding the DN it wanted, and State.Conflicts lists
// it (ConflictName). cn=dup added at t1 on replica 2 and at t2 on replica
// 1: replica 2's entry is cn=dup,dc=example,dc=com everywhere, replica
// 1's is entryUUID=...+cn=dup,dc=example,dc=com. To settle it an
// administrator renames or deletes one of them; the losing entry's
// children move with it, since they hang on its UUID.
//
// Delete versus modify: the delete wins. A modify concurrent with the
// delete, before or after it in CSN order, is absorbed into the
// tombstone; nothing ever makes a deleted entry live again (the delete
// CSN only grows, and an entry is live only while it has none), and a
// replayed add of its UUID is the same add again.
//
// Delete versus add-child or move-below: the child stays. Its deleted
// parent is shown at its DN as a glue entry (objectClass top and
// extensibleObject, its RDN's values, its entryUUID, switchboardGlue: TRUE; none of its
// old attributes), listed as ConflictGlue. ou=p deleted at t2 on replica 1
// while replica 2 adds cn=c under it at t1 or t3: everywhere, ou=p is
// glue and cn=c,ou=p lives. An administrator settles it by moving the
// children elsewhere or deleting them: the glue disappears as soon as
// no live entry remains below it; or by adding a real entry at the
// parent's DN (it takes the name, being live, and the glue is renamed
// like any loser) and moving the children under it.
//
// modrdn: an entry's placement is the latest of its placements, with one
// exception: placements are replayed in CSN order and one that would
// make an entry its own ancestor is ignored (ConflictMove). ou=a moved
// below ou=b at t1 on one replica while ou=b is moved below ou=a at t2 on
// another: a ends below b and b stays where it was, everywhere; nothing
// loops.
//
// Orphans: an entry whose parent's add has not arrived yet is not shown
// (ConflictOrphan) until it does. With all changes delivered this cannot
// happen, since a child's add is made after its parent's.
//
// Purge: State.Purge(below) drops tombstones deleted before below and the
// stamps of values and attributes removed before below, collapsing older
// placements, and then ignores any change older than below. below must
// be causally stable, every change still to come made by a replica that
// had applied everything older; that is what prevents resurrection (see
// Purge for the argument). A tombstone that is still a parent of an
// entry kept is kept.
//
// Compared with 389-ds update resolution (urp.c): 389 renames the later
// of two same-DN adds to nsuniqueid=<id>+<rdn> and marks it
// nsds5ReplConflict; Switchboard does the same with entryUUID and
// switchboardConflict, but computes it at materialisation instead of
// renaming entries in the database while replaying, so the result is the
// same whatever the delivery order (389's incremental renames depend on
// it, and its tests have found orders that end differently). 389 makes a
// glue entry when a delete finds children or an add finds no parent; here
// glue is likewise derived from the state, and disappears by itself when
// the children go. 389 discards a modify of a missing entry; here it is
// kept, in case the add is only late, and absorbed if the entry is
// deleted. 389 compares DN CSNs to ignore stale modrdns; here the latest
// placement wins and cycles are broken by CSN order.
//
// Replication never halts: no rule above refuses a change or waits for
// an administrator. Every conflict has a deterministic outcome that is
// visible (renamed entry, glue entry, ignored move) and reported by
// State.Conflicts, for the admin API to list.
//
// # Digest
//
// State.Digest is the SHA-256 of a canonical form of Materialize's
// result (documented on Digest): replicas that saw the same changes have
// equal digests, whatever the order and whatever they purged.
//
// # Operation format
//
// Op.AppendBinary writes, and DecodeOp reads, a canonical binary form
// (str is a uvarint length then the bytes; n a uvarint count in its
// shortest form):
//
//	format   1 byte, OpFormat (1)
//	csn      16 bytes, the CSN's binary form
//	kind     1 byte: 1 add, 2 modify, 3 delete, 4 modrdn
//	entry    16 bytes, UUID
//	add:     parent (16) rdn (str) n { name (str) n { value (str) } }
//	modify:  n { kind (1 byte: 1 add, 2 delete, 3 replace) attr (str) n { value (str) } }
//	delete:  nothing
//	modrdn:  parent (16) rdn (str) flags (1 byte: 0, or 1 = deleteOldRDN followed by oldRDN (str))
package merge
