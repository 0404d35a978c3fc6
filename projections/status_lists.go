package projections

import (
	"slices"
	"strings"
)

// Lists for integrators: find properties, list a property's members. Both come from the
// status projection's memory, ordered by ID, a page at a time after the last ID returned.

// PropertySummary is one property as a list shows it.
type PropertySummary struct {
	PropertyID          string `json:"property_id"`
	Name                string `json:"name"`
	PrimaryContactEmail string `json:"primary_contact_email"`
	Members             int    `json:"members"`
	Subscription        string `json:"subscription"`
}

// PropertyFilter selects properties: Name matches a case-insensitive part of the name,
// MemberID a property the account belongs to; After is the page's lower bound (exclusive).
type PropertyFilter struct {
	Name, MemberID, After string
	Limit                 int
}

// FindProperties returns up to Limit properties after After, and whether more follow.
func (s *Status) FindProperties(f PropertyFilter) ([]PropertySummary, bool) {
	name := strings.ToLower(strings.TrimSpace(f.Name))
	s.mu.RLock()
	var ids []string
	for id, rec := range s.properties {
		p := &rec.Property
		if !p.Created || id <= f.After || name != "" && !strings.Contains(strings.ToLower(p.Name), name) {
			continue
		}
		if f.MemberID != "" {
			if _, ok := slices.BinarySearch(p.Members, f.MemberID); !ok {
				continue
			}
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	more := len(ids) > f.Limit
	ids = ids[:min(len(ids), f.Limit)]
	out := make([]PropertySummary, len(ids))
	for i, id := range ids {
		p := s.properties[id].Property
		out[i] = PropertySummary{PropertyID: id, Name: p.Name, PrimaryContactEmail: p.PrimaryContactEmail, Members: len(p.Members), Subscription: p.Subscription}
	}
	s.mu.RUnlock()
	return out, more
}

// Member is one account of a property as its members list shows it.
type Member struct {
	AccountID      string `json:"account_id"`
	Email          string `json:"email"`
	UserManagement bool   `json:"user_management"`
}

// PropertyMembers returns up to limit members of the property after the account ID after,
// whether more follow, and false when the property does not exist.
func (s *Status) PropertyMembers(propertyID, after string, limit int) ([]Member, bool, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec, ok := s.properties[propertyID]
	if !ok || !rec.Property.Created {
		return nil, false, false
	}
	p := &rec.Property
	start, _ := slices.BinarySearch(p.Members, after)
	if start < len(p.Members) && p.Members[start] == after {
		start++
	}
	ids := p.Members[start:]
	more := len(ids) > limit
	ids = ids[:min(len(ids), limit)]
	out := make([]Member, len(ids))
	for i, id := range ids {
		_, manager := slices.BinarySearch(p.UserManagers, id)
		out[i] = Member{AccountID: id, Email: s.accounts.email(id), UserManagement: manager}
	}
	return out, more, true
}
