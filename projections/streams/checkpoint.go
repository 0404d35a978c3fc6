package streams

import (
	"context"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	json "github.com/goccy/go-json"
	"github.com/google/uuid"
)

// CheckpointType is the envelope type of a signed checkpoint of the log.
const CheckpointType = TypePrefix + "log_checkpoint"

// SignedCheckpoints is where a stream finds the log's signed checkpoints: the transparency
// log's checkpointer, which signs the log's head with a key kept out of the log. Every
// stream carries each new one once it has sent every event the checkpoint covers, so the
// SIEM behind it holds an outside copy of the log's head (RULES §9, PCI DSS 10.3.2) to check
// a rewrite or a truncation against.
type SignedCheckpoints interface {
	// LatestSigned is the newest signed checkpoint: it covers log positions 1..size, and
	// note is the signed note, byte for byte.
	LatestSigned() (size uint64, note []byte, ok bool)
}

// checkpointIDSpace namespaces the IDs of checkpoint envelopes: the same note always has
// the same ID, so a re-send is recognised like any event's.
var checkpointIDSpace = uuid.MustParse("2b9d6f0e-8c1a-5d3e-9f47-61a0c3e8b5d2")

// CheckpointEvent is the data of a checkpoint envelope.
type CheckpointEvent struct {
	Size uint64 `json:"size"`
	Note string `json:"note"`
}

// checkpointEnvelope is the message that carries a signed checkpoint.
func checkpointEnvelope(size uint64, note []byte, source string, now time.Time) (*message.Message, error) {
	event, err := json.Marshal(CheckpointEvent{Size: size, Note: string(note)})
	if err != nil {
		return nil, err
	}
	id := uuid.NewSHA1(checkpointIDSpace, note).String()
	body, err := json.Marshal(Envelope{SpecVersion: "1.0", ID: id, Source: source, Type: CheckpointType, Subject: "log",
		Time: now.UTC(), DataContentType: "application/json", Position: strconv.FormatUint(size, 10),
		Data: EnvelopeData{EventType: "log_checkpoint", Category: "checkpoint", Event: event}})
	if err != nil {
		return nil, err
	}
	m := message.NewMessage(id, body)
	m.Metadata.Set(typeKey, CheckpointType)
	return m, nil
}

// sendCheckpoint delivers the newest signed checkpoint the stream has not sent yet, once the
// stream has sent everything it covers. A failure is left for the next batch to retry.
func (s *Stream) sendCheckpoint(ctx context.Context) {
	src := s.set.checkpoints
	if src == nil {
		return
	}
	size, note, ok := src.LatestSigned()
	if !ok || size <= s.checkpointSent || size > s.Position() {
		return
	}
	m, err := checkpointEnvelope(size, note, s.set.source, time.Now())
	if err != nil {
		s.log.Error("stream: signed checkpoint not sent", "size", size, "error", err)
		return
	}
	b := &batch{envs: []*message.Message{m}}
	carrier := message.NewMessage(m.UUID, nil)
	carrier.SetContext(context.WithValue(ctx, batchKey{}, b))
	if _, err := s.deliver(carrier); err == nil {
		s.checkpointSent = size
	}
}
