package personal

import (
	"encoding/json"
	"errors"
)

// span is a JSON string literal, quotes included, that is the value (or an element of the
// array value) of a personal member.
type span struct {
	start, end int
	member     string
}

// scanner finds the personal string values of a JSON document without decoding it into
// values, so that every other byte of the payload is stored as it was written.
type scanner struct {
	data      []byte
	spans     []span
	accountID string // the top-level account_id member, when a plain string
	depth     int
}

var errSyntax = errors.New("personal: payload is not JSON")

const maxDepth = 200

func (s *scanner) scan() error {
	i, err := s.value(s.ws(0), "")
	if err != nil {
		return err
	}
	if s.ws(i) != len(s.data) {
		return errSyntax
	}
	return nil
}

func (s *scanner) ws(i int) int {
	for i < len(s.data) {
		switch s.data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value scans the value at i; member is the personal member holding it ("" when none).
func (s *scanner) value(i int, member string) (int, error) {
	if i >= len(s.data) {
		return 0, errSyntax
	}
	switch c := s.data[i]; {
	case c == '"':
		end, _, err := s.str(i)
		if err == nil && member != "" {
			s.spans = append(s.spans, span{start: i, end: end, member: member})
		}
		return end, err
	case c == '{':
		return s.object(i)
	case c == '[':
		return s.array(i, member)
	default:
		return s.literal(i)
	}
}

// str scans the string literal at i, returning its end and whether it holds an escape.
func (s *scanner) str(i int) (int, bool, error) {
	escaped := false
	for j := i + 1; j < len(s.data); j++ {
		switch c := s.data[j]; {
		case c == '\\':
			escaped = true
			j++
		case c == '"':
			return j + 1, escaped, nil
		case c < 0x20:
			return 0, false, errSyntax
		}
	}
	return 0, false, errSyntax
}

func (s *scanner) object(i int) (int, error) {
	if s.depth++; s.depth > maxDepth {
		return 0, errSyntax
	}
	defer func() { s.depth-- }()
	top := s.depth == 1
	i = s.ws(i + 1)
	if i < len(s.data) && s.data[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(s.data) || s.data[i] != '"' {
			return 0, errSyntax
		}
		end, escaped, err := s.str(i)
		if err != nil {
			return 0, err
		}
		key := s.data[i+1 : end-1]
		var name string
		if escaped {
			if json.Unmarshal(s.data[i:end], &name) != nil {
				return 0, errSyntax
			}
		} else {
			name = string(key)
		}
		i = s.ws(end)
		if i >= len(s.data) || s.data[i] != ':' {
			return 0, errSyntax
		}
		i = s.ws(i + 1)
		member := ""
		if personalField[name] {
			member = name
		}
		start := i
		if i, err = s.value(i, member); err != nil {
			return 0, err
		}
		if top && name == "account_id" && s.data[start] == '"' {
			_ = json.Unmarshal(s.data[start:i], &s.accountID)
		}
		var closed bool
		if i, closed, err = s.after(i, '}'); err != nil || closed {
			return i, err
		}
	}
}

// array scans an array; its elements inherit the member holding it (a personal member's
// array of strings has every element sealed, as transparency commits to each).
func (s *scanner) array(i int, member string) (int, error) {
	if s.depth++; s.depth > maxDepth {
		return 0, errSyntax
	}
	defer func() { s.depth-- }()
	i = s.ws(i + 1)
	if i < len(s.data) && s.data[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = s.value(i, member); err != nil {
			return 0, err
		}
		var closed bool
		if i, closed, err = s.after(i, ']'); err != nil || closed {
			return i, err
		}
	}
}

// after scans what follows a member or an element: a comma (the next one starts at the
// returned index) or the closer of its object or array (closed, past it).
func (s *scanner) after(i int, closer byte) (int, bool, error) {
	i = s.ws(i)
	switch {
	case i >= len(s.data):
		return 0, false, errSyntax
	case s.data[i] == ',':
		return s.ws(i + 1), false, nil
	case s.data[i] == closer:
		return i + 1, true, nil
	}
	return 0, false, errSyntax
}

// literal scans a number, true, false or null (loosely: what encoding/json wrote, and a
// malformed one fails the inner store's readers, not the seal).
func (s *scanner) literal(i int) (int, error) {
	j := i
	for j < len(s.data) {
		c := s.data[j]
		if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			break
		}
		if c == '"' || c == '{' || c == '[' || c == ':' {
			return 0, errSyntax
		}
		j++
	}
	if j == i {
		return 0, errSyntax
	}
	return j, nil
}
