package personal

import (
	"context"
	"fmt"
	"time"

	"accountd/domain"
)

// Retention of the period-sealed values (IP addresses, user agents, devices), in months.
const (
	// DefaultRetentionMonths: PCI DSS 10.5.1 asks a year of audit records, and a month's
	// margin keeps the whole of the twelfth month back readable.
	DefaultRetentionMonths = 13
	// MinRetentionMonths: never less than the year PCI DSS 10.5.1 asks.
	MinRetentionMonths = 12
)

// CheckRetention refuses a retention shorter than MinRetentionMonths, with
// CodeRetentionTooShort.
func CheckRetention(months int) error {
	if months < MinRetentionMonths {
		return &domain.Error{Code: CodeRetentionTooShort, Message: fmt.Sprintf("personal data retention of %d months: at least %d (PCI DSS 10.5.1 keeps a year of audit records)", months, MinRetentionMonths)}
	}
	return nil
}

// RetentionFloor is the first month whose values are kept at now under a retention of
// months: a month goes once it ended at least months ago, so every value stays readable
// for at least months and at most one month more.
func RetentionFloor(now time.Time, months int) string {
	now = now.UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	return MonthOf(first.AddDate(0, -months, 0))
}

// ApplyRetention destroys the keys of the months before RetentionFloor(now, months). It
// returns the floor and how many keys it destroyed. Idempotent: the sweep runs it hourly.
func ApplyRetention(ctx context.Context, keys Keys, now time.Time, months int) (string, int, error) {
	if err := CheckRetention(months); err != nil {
		return "", 0, err
	}
	floor := RetentionFloor(now, months)
	n, err := keys.DestroyPeriodsBefore(ctx, floor)
	return floor, n, err
}
