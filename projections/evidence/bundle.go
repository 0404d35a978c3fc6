// Package evidence makes and checks PCI DSS evidence bundles an auditor verifies offline,
// without trusting the server or its disk: a zip with the reports, the events they derive
// from (as transparency-log leaves, secrets excluded), an inclusion proof of each event
// against a signed checkpoint, the manifest signed with the checkpoint's key, and that
// key's verifier. Verification re-derives every report row from the included events with
// the compliance projection's own code, so an edited report fails even when its manifest
// entry was rewritten.
package evidence

import (
	"time"
)

// Bundle file names. The layout is documented in README.md ("Evidence bundles") so that a
// third party can check a bundle without this code.
const (
	FileManifest    = "manifest.json"
	FileManifestSig = "manifest.json.sig"
	FileCheckpoint  = "checkpoint"
	FileVerifierKey = "verifier.key"
	FileEvents      = "events.jsonl"
	FileRotationCSV = "password-rotation.csv"
	FileRotationJS  = "password-rotation.json"
	FileAccessCSV   = "access-log.csv"
	FilePolicies    = "policies.json"
	ManifestFormat  = "accountd-evidence/2"
)

// Manifest is the bundle's table of contents and its anchor in the log. Its bytes, exactly
// as stored in manifest.json, are the text of a signed note whose signature lines are
// manifest.json.sig.
type Manifest struct {
	Format      string         `json:"format"`
	Tool        string         `json:"tool"`
	ToolVersion string         `json:"tool_version"`
	PropertyID  string         `json:"property_id"`
	From        time.Time      `json:"from"`
	To          time.Time      `json:"to"`
	GeneratedAt time.Time      `json:"generated_at"`
	Log         ManifestLog    `json:"log"`
	Files       []ManifestFile `json:"files"`
}

// ManifestLog is the log's state the bundle was made from: the signed checkpoint's tree
// and the events the bundle carries.
type ManifestLog struct {
	// TreeSize and RootHash (base64, as in the checkpoint) repeat the checkpoint.
	TreeSize    uint64 `json:"tree_size"`
	RootHash    string `json:"root_hash"`
	VerifierKey string `json:"verifier_key"`
	// Events is the number of lines of events.jsonl.
	Events int `json:"events"`
}

// ManifestFile is one file of the bundle.
type ManifestFile struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// EventLine is one line of events.jsonl: an event as its transparency-log leaf (base64),
// the RFC 9162 audit path of leaf Position-1 in the checkpoint's tree (base64 hashes, leaf
// to root), and the openings of the personal values the reports show.
type EventLine struct {
	Position uint64    `json:"position"`
	Leaf     []byte    `json:"leaf"`
	Proof    [][]byte  `json:"proof"`
	Personal []Opening `json:"personal,omitempty"`
}
