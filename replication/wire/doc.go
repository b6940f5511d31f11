// Package wire holds the messages of replication's transport: the
// requests and responses of the pull and snapshot LDAP extended
// operations (OIDPull, OIDSnapshot), the Vector and Generation they
// carry and the Sealing a supplier announces, with their binary forms
// (documented on each AppendBinary) and strict decoders.
//
// It only encodes and decodes. Package replication sends and serves the
// messages (Peer, Replicator.Pull, Supplier), since both ends read and
// change the Replicator's state and change log. Package wire imports
// package merge for the operations it carries and nothing with I/O or a
// store; TestLayering in package replication checks it.
package wire
