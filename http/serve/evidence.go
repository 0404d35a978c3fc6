package serve

import (
	"errors"
	"path/filepath"

	"accountd/eventstore"
	"accountd/eventstore/transparency"
	"accountd/evidence"
)

// EvidenceLog is the transparency log evidence bundles are anchored in, over the store as
// opened (the metrics wrapper does not carry the tree), signing with the key at keyPath
// (default dataDir/keys/checkpoint-signing.key, made on first use) and keeping its
// checkpoints in dataDir/checkpoints. Nil when the store keeps no tree (KurrentDB): the
// evidence route then answers 503.
func EvidenceLog(store eventstore.Store, dataDir, keyPath string) (*evidence.Log, error) {
	tree, err := transparency.NewTree(store)
	if errors.Is(err, transparency.ErrNoHashTree) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if keyPath == "" {
		keyPath = filepath.Join(dataDir, "keys", transparency.SigningKeyFile)
	}
	key, err := transparency.LoadOrCreateSigningKey(keyPath, "accountd")
	if err != nil {
		return nil, err
	}
	cp, err := transparency.NewCheckpointer(store, transparency.CheckpointLog{Dir: filepath.Join(dataDir, "checkpoints")}, key)
	if err != nil {
		return nil, err
	}
	return &evidence.Log{Checkpoints: cp, Tree: tree, Key: key}, nil
}
