package messages

import (
	"sync"

	"golang.org/x/text/language"
)

// Lang is a language the messages are written in.
type Lang uint8

// The languages, in the order every multilingual text lists them; English is the fallback.
const (
	English Lang = iota
	French
	Italian
	numLangs
)

// Langs lists every language, in order.
var Langs = []Lang{English, French, Italian}

var langCodes = [numLangs]string{"en", "fr", "it"}

// String is the language's BCP 47 code.
func (l Lang) String() string { return langCodes[l] }

// texts is one text in every language, indexed by Lang.
type texts [numLangs]string

var matcher = language.NewMatcher([]language.Tag{language.English, language.French, language.Italian})

// Match picks the language of an Accept-Language header: the best one the messages are
// written in by q-value and by closeness (fr-CH is French), English when none fits or the
// header does not parse. The login flow's hot path calls it on every status read, so the
// answers for the headers seen are kept (a few hundred distinct ones at most: browsers
// send few variants) and a repeated header costs one map lookup.
func Match(acceptLanguage string) Lang {
	if acceptLanguage == "" {
		return English
	}
	matched.RLock()
	l, ok := matched.m[acceptLanguage]
	matched.RUnlock()
	if ok {
		return l
	}
	l = match(acceptLanguage)
	matched.Lock()
	if len(matched.m) < maxMatched {
		matched.m[acceptLanguage] = l
	}
	matched.Unlock()
	return l
}

// maxMatched bounds the headers remembered: the header is the client's to choose, so an
// unbounded map would be memory anyone can fill.
const maxMatched = 512

var matched = struct {
	sync.RWMutex
	m map[string]Lang
}{m: map[string]Lang{}}

func match(header string) Lang {
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil || len(tags) == 0 {
		return English
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return English
	}
	return Lang(i)
}
