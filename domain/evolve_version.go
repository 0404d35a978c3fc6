package domain

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"slices"
	"strings"
)

// The version of the fold, for snapshots (eventstore/snapshot): a snapshot is a folded
// aggregate, valid only for the evolve code that folded it. The version is derived, never
// bumped by hand: it is the SHA-256 of this package's own source (every non-test .go file,
// embedded at build time), so any change to an Evolve function, to a state type, to an
// event payload or to a helper they call makes a new version, and every snapshot taken by
// the old code is ignored by itself (the next cold load folds the whole stream and saves a
// new one).
//
// Why the source and not a golden fold (the hash of folding a fixed list of events): a
// golden fold only notices a change that the fixed events exercise, and a missed one would
// silently serve a stale state; the source hash never misses one. What it costs is
// invalidations that were not needed (a comment edited in domain), each of which costs
// one full fold per stream on its next cold load: an optimisation lost for a while, never
// a wrong answer.
//
//go:embed *.go
var sources embed.FS

// EvolveVersion identifies the evolve code of this build (16 hex digits of the hash).
var EvolveVersion = sourceHash()

func sourceHash() string {
	names, err := fs.Glob(sources, "*.go")
	if err != nil {
		panic("domain: embedded sources: " + err.Error())
	}
	slices.Sort(names)
	h := sha256.New()
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := sources.ReadFile(name)
		if err != nil {
			panic("domain: embedded sources: " + err.Error())
		}
		h.Write([]byte(name))
		h.Write([]byte{0})
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
