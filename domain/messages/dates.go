package messages

import (
	"fmt"
	"time"
)

var months = [numLangs][12]string{
	{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
	{"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"},
}

// longDate is an instant in UTC, written the way each language writes dates.
func longDate(lang Lang, t time.Time) string {
	t = t.UTC()
	hm := t.Format("15:04")
	day := fmt.Sprint(t.Day())
	switch lang {
	case French:
		if t.Day() == 1 {
			day = "1er"
		}
		return fmt.Sprintf("%s %s %d à %s UTC", day, months[lang][t.Month()-1], t.Year(), hm)
	case Italian:
		if t.Day() == 1 {
			day = "1º"
		}
		return fmt.Sprintf("%s %s %d alle %s UTC", day, months[lang][t.Month()-1], t.Year(), hm)
	}
	return fmt.Sprintf("%s %s %d at %s UTC", day, months[lang][t.Month()-1], t.Year(), hm)
}

// spanParts is a link's validity as a mail states it: whole hours when it is at least an
// hour, else minutes (at least one); the template picks the unit's word.
type spanParts struct {
	N     int
	Hours bool
}

func span(d time.Duration) spanParts {
	if d >= time.Hour {
		return spanParts{N: int(d.Round(time.Hour) / time.Hour), Hours: true}
	}
	return spanParts{N: max(1, int(d.Round(time.Minute)/time.Minute))}
}
