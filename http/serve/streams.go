package serve

import (
	"context"
	"path/filepath"

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
	if s.streams, err = streams.Open(ctx, streams.Options{Store: s.store, DB: s.streamsDB, Source: s.cfg.PublicURL,
		Logger: s.log, Clock: s.cfg.Clock}, s.cfg.Streams...); err != nil {
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
