package streams

import (
	"context"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"accountd/domain"
	"accountd/eventstore/eventlog"
)

// ContentType is the media type of a structured CloudEvents JSON envelope.
const ContentType = "application/cloudevents+json"

// TypePrefix starts every envelope's type: accountd.login_failed.v1.
const TypePrefix = "accountd."

// Envelope is one log event as a CloudEvents 1.0 event in the structured JSON format. ID is
// the event's ID in the log, so a re-sent envelope is recognisably the same one. Position
// (the global log position) and StreamRevision (the event's revision in its log stream,
// Subject) are decimal strings: CloudEvents integers stop at 2^31.
type Envelope struct {
	SpecVersion     string       `json:"specversion"`
	ID              string       `json:"id"`
	Source          string       `json:"source"`
	Type            string       `json:"type"`
	Subject         string       `json:"subject"`
	Time            time.Time    `json:"time"`
	DataContentType string       `json:"datacontenttype"`
	Position        string       `json:"position"`
	StreamRevision  string       `json:"streamrevision,omitempty"`
	Data            EnvelopeData `json:"data"`
}

// EnvelopeData is the accountd event without its secrets, and its OCSF record where the
// event is an authentication or an account change.
type EnvelopeData struct {
	EventType     string          `json:"event_type"`
	Category      string          `json:"category"`
	AccountID     string          `json:"account_id,omitempty"`
	PropertyID    string          `json:"property_id,omitempty"`
	CommandID     string          `json:"command_id,omitempty"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	Event         json.RawMessage `json:"event"`
	OCSF          *OCSF           `json:"ocsf,omitempty"`
}

// PositionValue reads the envelope's log position.
func (e Envelope) PositionValue() (uint64, error) { return strconv.ParseUint(e.Position, 10, 64) }

// newEnvelope builds the envelope of a decoded event.
func newEnvelope(d eventlog.Decoded, facts accountFacts, source string) (Envelope, error) {
	event, err := redactEvent(d.Recorded.Type, d.Recorded.Data)
	if err != nil {
		return Envelope{}, err
	}
	account := accountOf(d.Recorded.Stream)
	return Envelope{
		SpecVersion:     "1.0",
		ID:              d.Recorded.ID.String(),
		Source:          source,
		Type:            TypePrefix + d.Recorded.Type,
		Subject:         d.Recorded.Stream,
		Time:            d.Event.At.UTC(),
		DataContentType: "application/json",
		Position:        strconv.FormatUint(d.Recorded.Position, 10),
		StreamRevision:  strconv.FormatUint(d.Recorded.Revision, 10),
		Data: EnvelopeData{
			EventType:     d.Recorded.Type,
			Category:      CategoryOf(d.Recorded.Type),
			AccountID:     account,
			PropertyID:    propertyOfStream(d.Recorded.Stream),
			CommandID:     d.Meta.CommandID,
			CorrelationID: d.Meta.CorrelationID,
			Event:         event,
			OCSF:          ocsfRecord(d, account, facts.email),
		},
	}, nil
}

// propertyOfStream is the property a property stream (or its detections stream) is about.
func propertyOfStream(stream string) string {
	for _, prefix := range []string{"property-", "detections-property-"} {
		if id, ok := strings.CutPrefix(stream, prefix); ok {
			return id
		}
	}
	return ""
}

// propertiesOf lists the properties an event concerns: its property stream's, the one its
// payload names, and, for an account's event, the account's properties just after it.
func propertiesOf(d eventlog.Decoded, facts accountFacts) []string {
	out := facts.properties
	add := func(id string) {
		if id != "" && !contains(out, id) {
			out = append(out[:len(out):len(out)], id)
		}
	}
	add(propertyOfStream(d.Recorded.Stream))
	switch e := d.Event.Data.(type) {
	case domain.AccountRegistered:
		add(e.PropertyID)
	case domain.LinkedToProperty:
		add(e.PropertyID)
	case domain.UnlinkedFromProperty:
		add(e.PropertyID)
	case domain.AccountDisabled:
		add(e.PropertyID)
	case domain.AccountEnabled:
		add(e.PropertyID)
	case domain.PropertyAttackDetected:
		add(e.PropertyID)
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// envelopeFacts reads the facts an envelope needs only when the event is an account's.
func envelopeFacts(ctx context.Context, x *accountIndex, d eventlog.Decoded) (accountFacts, error) {
	if x == nil || accountOf(d.Recorded.Stream) == "" {
		return accountFacts{}, nil
	}
	return x.at(ctx, d)
}
