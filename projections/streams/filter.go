package streams

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"accountd/domain"
)

// Filter selects what a stream sends. Kinds combine with AND, the values of one kind with
// OR: category:authentication,account_change plus property:P1 sends the sign-ins and
// account changes of property P1's accounts. The zero Filter sends everything.
type Filter struct {
	Categories []string `json:"categories,omitempty"`
	Types      []string `json:"types,omitempty"`
	Properties []string `json:"properties,omitempty"`
}

// ErrInvalidFilter: a filter that names no known kind, category or event type.
var ErrInvalidFilter = errors.New("streams: invalid filter")

// ParseFilter reads one filter: category:NAME[,NAME...], type:EVENT_TYPE[,...] or
// property:PROPERTY_ID[,...].
func ParseFilter(spec string) (Filter, error) {
	kind, list, ok := strings.Cut(strings.TrimSpace(spec), ":")
	if !ok || strings.TrimSpace(list) == "" {
		return Filter{}, fmt.Errorf("%w %q: want category:NAME,..., type:EVENT_TYPE,... or property:ID,...", ErrInvalidFilter, spec)
	}
	var values []string
	for _, v := range strings.Split(list, ",") {
		if v = strings.TrimSpace(v); v != "" {
			values = append(values, v)
		}
	}
	var f Filter
	switch kind {
	case "category":
		for _, c := range values {
			if !slices.Contains(Categories, c) {
				return Filter{}, fmt.Errorf("%w: unknown category %q (want one of %s)", ErrInvalidFilter, c, strings.Join(Categories, ", "))
			}
		}
		f.Categories = values
	case "type":
		known := domain.EventTypes()
		for i, t := range values {
			t = strings.TrimPrefix(t, TypePrefix)
			if !slices.Contains(known, t) {
				return Filter{}, fmt.Errorf("%w: unknown event type %q", ErrInvalidFilter, t)
			}
			values[i] = t
		}
		f.Types = values
	case "property":
		f.Properties = values
	default:
		return Filter{}, fmt.Errorf("%w %q: unknown kind %q (want category, type or property)", ErrInvalidFilter, spec, kind)
	}
	return f, nil
}

// And narrows f by g. Two filters of the same kind would leave a stream sending nothing
// or something surprising, so they are refused.
func (f Filter) And(g Filter) (Filter, error) {
	if (len(f.Categories) > 0 && len(g.Categories) > 0) || (len(f.Types) > 0 && len(g.Types) > 0) || (len(f.Properties) > 0 && len(g.Properties) > 0) {
		return f, fmt.Errorf("%w: two filters of the same kind; list the values in one (category:a,b)", ErrInvalidFilter)
	}
	f.Categories = append(f.Categories, g.Categories...)
	f.Types = append(f.Types, g.Types...)
	f.Properties = append(f.Properties, g.Properties...)
	return f, nil
}

// byProperty reports whether matching needs the properties of an event.
func (f Filter) byProperty() bool { return len(f.Properties) > 0 }

// selects reports whether the filter passes an event of this type about these properties.
func (f Filter) selects(eventType string, properties []string) bool {
	if len(f.Categories) > 0 && !slices.Contains(f.Categories, CategoryOf(eventType)) {
		return false
	}
	if len(f.Types) > 0 && !slices.Contains(f.Types, eventType) {
		return false
	}
	if len(f.Properties) > 0 && !slices.ContainsFunc(properties, func(p string) bool { return slices.Contains(f.Properties, p) }) {
		return false
	}
	return true
}

// String is the filter as flags would give it.
func (f Filter) String() string {
	var parts []string
	for _, kv := range []struct {
		kind   string
		values []string
	}{{"category", f.Categories}, {"type", f.Types}, {"property", f.Properties}} {
		if len(kv.values) > 0 {
			parts = append(parts, kv.kind+":"+strings.Join(kv.values, ","))
		}
	}
	return strings.Join(parts, " ")
}
