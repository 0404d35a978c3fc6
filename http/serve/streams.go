package serve

import (
	"context"
	"path/filepath"

	"accountd/eventstore/transparency"
	"accountd/http/api"
	"accountd/projections"
	"accountd/projections/streams"
)

// StreamsFile holds the streams' checkpoints and dead letters. It is apart from the read
// models because streams are not read models: a rebuild never touches it, and a stream
// replays only when an operator resets it.
const StreamsFile = "streams.db"

func (s *Server) openStreams(ctx context.Context) error {
	if len(s.cfg.Streams) == 0 {
		return nil
	}
	var err error
	if s.streamsDB, err = projections.OpenDB(filepath.Join(s.cfg.DataDir, StreamsFile)); err != nil {
		return err
	}
	opts := streams.Options{Store: s.store, DB: s.streamsDB, Source: s.cfg.PublicURL, Logger: s.log, Clock: s.cfg.Clock}
	if s.witness != nil {
		opts.Checkpoints = signedCheckpoints{s.witness.signer}
	}
	if s.sharedLeases {
		opts.Positions = sharedStreams{s.leases}
	}
	if s.streams, err = streams.Open(ctx, opts, s.cfg.Streams...); err != nil {
		return err
	}
	if s.metrics != nil {
		return s.metrics.Register(s.streams.Collector())
	}
	return nil
}

// streamsAPI is the streams as the admin API sees them (nil when none is configured, which
// the API answers with an empty list).
func (s *Server) streamsAPI() api.Streams {
	if s.streams == nil {
		return nil
	}
	return s.streams
}

// Streams are the configured log streams (nil when there are none).
func (s *Server) Streams() *streams.Set { return s.streams }

// signedCheckpoints hands the transparency log's signed checkpoints to the streams. A
// checkpoint of tree size N covers the log's first N events, positions 1..N: the stores that
// keep the tree number their events without gaps.
type signedCheckpoints struct{ signer *transparency.Checkpointer }

func (c signedCheckpoints) LatestSigned() (uint64, []byte, bool) {
	latest, ok := c.signer.Latest()
	if !ok || latest.Size <= 0 {
		return 0, nil, false
	}
	return uint64(latest.Size), latest.Note, true
}
