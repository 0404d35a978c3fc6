// Package transparency is the Merkle tree over accountd's event log, in the manner of
// Certificate Transparency and Go's checksum database: leaf i is the event at position
// i+1, hashed as RFC 6962/9162 prescribe (leaf SHA-256(0x00 || leaf bytes), node
// SHA-256(0x01 || left || right)), with the tree code of golang.org/x/mod/sumdb/tlog.
//
// Three small exact formats live here, each documented where it is built and in the
// README's "Verifying accountd's evidence":
//   - the leaf bytes of an event (leaf.go), which carry no secret and no personal datum
//     in clear, so that a third party can be handed them;
//   - the stored hashes a backend keeps beside each event (frontier.go, tree.go);
//   - the signed checkpoint, a C2SP tlog-checkpoint in a signed note (checkpoint.go).
//
// Backends import this package to hash at append time; the eventstore package itself
// does not, so the interface stays free of it.
package transparency
