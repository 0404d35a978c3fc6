package compliance

import (
	"accountd/eventstore/eventlog"
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"accountd/domain"
)

// Verdicts of the password-rotation report (PCI 8.3.9).
const (
	VerdictCompliant       = "compliant"
	VerdictNonCompliant    = "non_compliant"
	VerdictNoChange        = "no_password_change_in_period"
	VerdictCreatedInPeriod = "account_created_in_period"
	VerdictDisabled        = "disabled"
)

// ParamError is a report query that cannot be answered as asked.
type ParamError struct {
	Field   string
	Message string
}

func (e *ParamError) Error() string { return "invalid " + e.Field + ": " + e.Message }

// Code is the stable error code (HTTP 400).
func (e *ParamError) Code() domain.Code { return "invalid_params" }

// Query selects a report: one property (optional for the access log) over [From, To].
type Query struct {
	PropertyID string
	From, To   time.Time
}

// Validate refuses an empty or inverted period; the property is required when required is set.
func (q Query) Validate(propertyRequired bool) error {
	switch {
	case propertyRequired && strings.TrimSpace(q.PropertyID) == "":
		return &ParamError{Field: "property_id", Message: "required"}
	case q.From.IsZero():
		return &ParamError{Field: "from", Message: "required (RFC 3339 or YYYY-MM-DD)"}
	case q.To.IsZero():
		return &ParamError{Field: "to", Message: "required (RFC 3339 or YYYY-MM-DD)"}
	case !q.To.After(q.From):
		return &ParamError{Field: "to", Message: "must be after from"}
	}
	return nil
}

// ParseTime reads a report bound: RFC 3339, or a date meaning its midnight UTC.
func ParseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, &ParamError{Field: field, Message: strconv.Quote(s) + " is not RFC 3339 or YYYY-MM-DD"}
}

// PasswordChange is one password set on an account.
type PasswordChange struct {
	At    time.Time `json:"at"`
	Cause string    `json:"cause"`
	Actor string    `json:"actor,omitempty"`
}

// RotationRow is one account's line in the rotation report.
type RotationRow struct {
	AccountID    string           `json:"account_id"`
	Email        string           `json:"email"`
	RegisteredAt time.Time        `json:"registered_at"`
	Changes      []PasswordChange `json:"password_changes_in_period"`
	// LongestIntervalDays is the longest time between two password sets (the last one
	// measured to the end of the period) among those overlapping the period.
	LongestIntervalDays int `json:"longest_interval_days"`
	// DaysBeyondMaxAge counts the days of the period during which the password in use was
	// older than the maximum age in force at that moment.
	DaysBeyondMaxAge    int    `json:"days_beyond_max_age"`
	PasswordAgeDaysAtTo int    `json:"password_age_days_at_to"`
	MaxAgeDaysAtTo      int    `json:"max_password_age_days_at_to"`
	HistoryDepth        int    `json:"history_depth_enforced"`
	Disabled            string `json:"disabled,omitempty"`
	Verdict             string `json:"verdict"`

	sets []PasswordChange // every set up to To, registration included
}

const dayDur = 24 * time.Hour

// Rotation calls fn with each account of the property, ordered by account ID, reading one
// cursor: memory stays flat whatever the number of accounts.
func Rotation(ctx context.Context, db *sql.DB, policies *eventlog.PolicyHistory, q Query, fn func(RotationRow) error) error {
	if err := q.Validate(true); err != nil {
		return err
	}
	// The property's members at any moment of the period, and the disables in force at its
	// end: the period is reported as it was, whatever happened since.
	rows, err := db.QueryContext(ctx, `SELECT a.account_id, a.email, a.registered_at,
			(SELECT group_concat(kind, ',') FROM (SELECT DISTINCT kind FROM compliance_disabled_periods d
				WHERE d.account_id = a.account_id AND d.since_at <= ?1 AND (d.until_at = 0 OR d.until_at > ?1) ORDER BY kind)),
			c.at, c.cause, c.actor, c.history_depth
		FROM (SELECT DISTINCT account_id FROM compliance_member_periods
			WHERE property_id = ?2 AND since_at <= ?1 AND (until_at = 0 OR until_at >= ?3)) m
		JOIN compliance_accounts a ON a.account_id = m.account_id
		LEFT JOIN compliance_password_changes c ON c.account_id = a.account_id AND c.at <= ?1
		WHERE a.registered_at <= ?1
		ORDER BY a.account_id, c.at, c.position`, nanos(q.To), q.PropertyID, nanos(q.From))
	if err != nil {
		return err
	}
	defer rows.Close()
	var boundaries []time.Time
	for _, v := range policies.Versions() {
		boundaries = append(boundaries, v.From)
	}
	var cur *RotationRow
	flush := func() error {
		if cur == nil {
			return nil
		}
		finish(cur, q, policies, boundaries)
		err := fn(*cur)
		cur = nil
		return err
	}
	var depth int
	for rows.Next() {
		var (
			id, email, kinds, cause, actor sql.NullString
			reg, at, hd                    sql.NullInt64
		)
		if err := rows.Scan(&id, &email, &reg, &kinds, &at, &cause, &actor, &hd); err != nil {
			return err
		}
		if cur == nil || cur.AccountID != id.String {
			if err := flush(); err != nil {
				return err
			}
			cur = &RotationRow{AccountID: id.String, Email: email.String, RegisteredAt: fromNanos(reg.Int64)}
			if kinds.String != "" && slices.Contains(strings.Split(kinds.String, ","), kindDeleted) {
				cur.Disabled = kindDeleted
			} else {
				cur.Disabled = kinds.String
			}
			depth = -1
		}
		if at.Valid {
			cur.sets = append(cur.sets, PasswordChange{At: fromNanos(at.Int64), Cause: cause.String, Actor: actor.String})
			depth = int(hd.Int64)
		}
		cur.HistoryDepth = depth
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return flush()
}

// finish computes the row's measures from its password sets.
func finish(r *RotationRow, q Query, policies *eventlog.PolicyHistory, boundaries []time.Time) {
	maxAgeAt := func(t time.Time) time.Duration { return policies.At(t).PasswordMaxAge.Std() }
	if r.HistoryDepth < 0 {
		r.HistoryDepth = policies.At(q.To).PasswordHistoryDepth
	}
	var overdue, longest time.Duration
	for i, s := range r.sets {
		if !s.At.Before(q.From) {
			r.Changes = append(r.Changes, s)
		}
		end := q.To
		if i+1 < len(r.sets) {
			end = r.sets[i+1].At
		}
		if end.Before(q.From) {
			continue
		}
		longest = max(longest, end.Sub(s.At))
		a, b := maxTime(s.At, q.From), end
		for a.Before(b) {
			// Split at each policy change: the maximum age is the one in force at each moment.
			next := b
			for _, bd := range boundaries {
				if bd.After(a) && bd.Before(next) {
					next = bd
				}
			}
			if lo := maxTime(a, s.At.Add(maxAgeAt(a))); next.After(lo) {
				overdue += next.Sub(lo)
			}
			a = next
		}
	}
	if len(r.sets) > 0 {
		r.PasswordAgeDaysAtTo = int(q.To.Sub(r.sets[len(r.sets)-1].At) / dayDur)
	}
	r.LongestIntervalDays = int(longest / dayDur)
	r.DaysBeyondMaxAge = int(overdue / dayDur)
	r.MaxAgeDaysAtTo = int(maxAgeAt(q.To) / dayDur)
	switch {
	case r.Disabled != "":
		r.Verdict = VerdictDisabled
	case overdue > 0:
		r.Verdict = VerdictNonCompliant
	case !r.RegisteredAt.Before(q.From):
		r.Verdict = VerdictCreatedInPeriod
	case len(r.Changes) == 0:
		r.Verdict = VerdictNoChange
	default:
		r.Verdict = VerdictCompliant
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// RotationHeader is the CSV header, in column order.
var RotationHeader = []string{"account_id", "email", "registered_at", "password_changes_in_period", "change_count",
	"longest_interval_days", "days_beyond_max_age", "password_age_days_at_to", "max_password_age_days_at_to",
	"history_depth_enforced", "disabled", "verdict"}

// WriteRotationCSV streams the report as RFC 4180 CSV (UTF-8, CRLF, header first). Each
// change is "time cause" and changes are separated by "; " inside their cell.
func WriteRotationCSV(ctx context.Context, w io.Writer, db *sql.DB, policies *eventlog.PolicyHistory, q Query) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(RotationHeader); err != nil {
		return err
	}
	rec := make([]string, len(RotationHeader))
	var sb strings.Builder
	err := Rotation(ctx, db, policies, q, func(r RotationRow) error {
		sb.Reset()
		for i, c := range r.Changes {
			if i > 0 {
				sb.WriteString("; ")
			}
			sb.WriteString(c.At.Format(time.RFC3339))
			sb.WriteByte(' ')
			sb.WriteString(c.Cause)
		}
		rec[0], rec[1], rec[2], rec[3] = r.AccountID, r.Email, r.RegisteredAt.Format(time.RFC3339), sb.String()
		rec[4] = strconv.Itoa(len(r.Changes))
		rec[5], rec[6] = strconv.Itoa(r.LongestIntervalDays), strconv.Itoa(r.DaysBeyondMaxAge)
		rec[7], rec[8] = strconv.Itoa(r.PasswordAgeDaysAtTo), strconv.Itoa(r.MaxAgeDaysAtTo)
		rec[9], rec[10], rec[11] = strconv.Itoa(r.HistoryDepth), r.Disabled, r.Verdict
		return cw.Write(rec)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// reportHead opens a JSON report; rows follow one by one, so the document is never held whole.
type reportHead struct {
	Report      string                   `json:"report"`
	PropertyID  string                   `json:"property_id,omitempty"`
	From        time.Time                `json:"from"`
	To          time.Time                `json:"to"`
	GeneratedAt time.Time                `json:"generated_at"`
	Policies    []eventlog.PolicyVersion `json:"policies_in_force"`
}

// WriteRotationJSON streams the report as one JSON object whose "rows" array is written as
// the cursor advances.
func WriteRotationJSON(ctx context.Context, w io.Writer, db *sql.DB, policies *eventlog.PolicyHistory, q Query, now time.Time) error {
	if err := q.Validate(true); err != nil {
		return err
	}
	head := reportHead{Report: "password_rotation", PropertyID: q.PropertyID, From: q.From, To: q.To, GeneratedAt: now.UTC(), Policies: policies.InForce(q.From, q.To)}
	return streamJSON(w, head, func(row func(any) error) error {
		return Rotation(ctx, db, policies, q, func(r RotationRow) error {
			if r.Changes == nil {
				r.Changes = []PasswordChange{}
			}
			return row(r)
		})
	})
}

func streamJSON(w io.Writer, head any, rows func(row func(any) error) error) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	hb, err := json.Marshal(head)
	if err != nil {
		return err
	}
	// Open the head object and add the rows member before its closing brace.
	bw.Write(hb[:len(hb)-1])
	bw.WriteString(`,"rows":[`)
	n := 0
	err = rows(func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if n > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n")
		n++
		_, err = bw.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	bw.WriteString("\n]}\n")
	return bw.Flush()
}
