package api

import (
	"encoding/base64"
	"net/http"
	"strings"

	"accountd/domain"
	"accountd/projections"
)

// List routes for integrators, paged as the timeline is: ?limit= and an opaque ?cursor=
// taken from the previous page's next_cursor, which is absent on the last page.

type propertyPage struct {
	Properties []projections.PropertySummary `json:"properties"`
	NextCursor string                        `json:"next_cursor,omitempty"`
}

type memberPage struct {
	PropertyID string               `json:"property_id"`
	Members    []projections.Member `json:"members"`
	NextCursor string               `json:"next_cursor,omitempty"`
}

// A cursor names the last ID of the page before, under a prefix per list so one list's
// cursor is refused by another.
const (
	propertyCursor = "pl1:"
	memberCursor   = "ml1:"
)

func encodeListCursor(prefix, lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(prefix + lastID))
}

func decodeListCursor(prefix, c string) (string, error) {
	if c == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	id, ok := strings.CutPrefix(string(raw), prefix)
	if err != nil || !ok || id == "" {
		return "", badParam(CodeInvalidCursor, "cursor", "cursor is not one this endpoint returned")
	}
	return id, nil
}

func (a *API) findProperties(x *exchange) error {
	q, err := parseQuery(x)
	if err != nil {
		return err
	}
	if err := a.waitFor(x, q.Get("min_position")); err != nil {
		return err
	}
	f := projections.PropertyFilter{Name: q.Get("name"), MemberID: strings.TrimSpace(q.Get("member_account_id"))}
	if f.After, err = decodeListCursor(propertyCursor, q.Get("cursor")); err != nil {
		return err
	}
	if f.Limit, err = parseLimit(q, 50, 200); err != nil {
		return err
	}
	page, more := a.status.FindProperties(f)
	out := propertyPage{Properties: page}
	if more {
		out.NextCursor = encodeListCursor(propertyCursor, page[len(page)-1].PropertyID)
	}
	return x.json(http.StatusOK, out)
}

func (a *API) listMembers(x *exchange) error {
	q, err := parseQuery(x)
	if err != nil {
		return err
	}
	if err := a.waitFor(x, q.Get("min_position")); err != nil {
		return err
	}
	after, err := decodeListCursor(memberCursor, q.Get("cursor"))
	if err != nil {
		return err
	}
	limit, err := parseLimit(q, 50, 200)
	if err != nil {
		return err
	}
	id := x.pathVar("id")
	members, more, ok := a.status.PropertyMembers(id, after, limit)
	if !ok {
		return &domain.Error{Code: domain.CodePropertyNotFound, Message: "property does not exist"}
	}
	out := memberPage{PropertyID: id, Members: members}
	if more {
		out.NextCursor = encodeListCursor(memberCursor, members[len(members)-1].AccountID)
	}
	return x.json(http.StatusOK, out)
}
