package serve

import (
	"errors"

	"accountd/eventstore"
	"accountd/eventstore/transparency"
	"accountd/projections/evidence"
)

// EvidenceLog is the transparency log an evidence export run without a server anchors its
// bundle in: the store's tree, signing with the key at keyPath (default SigningKeyPath,
// made on first use) and keeping checkpoints in CheckpointDir, as a server on dataDir
// does. Nil when the store keeps no tree. (A server anchors bundles in its own witness.)
func EvidenceLog(store eventstore.Store, dataDir, keyPath string) (*evidence.Log, error) {
	tree, err := transparency.NewTree(store)
	if errors.Is(err, transparency.ErrNoHashTree) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if keyPath == "" {
		keyPath = SigningKeyPath(dataDir)
	}
	key, err := transparency.LoadOrCreateSigningKey(keyPath, DefaultCheckpointOrigin)
	if err != nil {
		return nil, err
	}
	cp, err := transparency.NewCheckpointer(store, transparency.CheckpointLog{Dir: CheckpointDir(dataDir)}, key)
	if err != nil {
		return nil, err
	}
	return &evidence.Log{Checkpoints: cp, Tree: tree, Key: key}, nil
}
