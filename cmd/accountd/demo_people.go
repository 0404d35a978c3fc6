package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// The demo's cast: properties, staff and the habits that shape their history. Everything
// here is drawn from the seeded generator, so one seed always gives the same people.

var demoHotelNames = []string{
	"Hôtel du Lac", "Albergo Roma", "Hôtel Bellevue", "Locanda del Porto", "Hôtel des Alpes",
	"Residenza Le Dune", "Hôtel de la Plage", "Albergo Miramonti", "Hôtel du Parc", "Villa Serena",
	"Hôtel Le Florentin", "Albergo Stella", "Hôtel Beau Rivage", "Palazzo Bianchi", "Hôtel Saint-Martin",
}

var demoCities = []string{"Annecy", "Como", "Nice", "Verona", "Lyon", "Bergamo", "Biarritz", "Lucca", "Colmar", "Siena"}

var demoFirst = []string{"marie", "luca", "camille", "giulia", "thomas", "chiara", "julien", "sara", "lea", "marco", "ines", "paolo", "hugo", "elena", "nina", "davide"}
var demoLast = []string{"martin", "rossi", "bernard", "russo", "dubois", "ferrari", "moreau", "esposito", "laurent", "romano", "girard", "colombo"}
var demoWords = []string{"Harbour", "Lantern", "Juniper", "Compass", "Meadow", "Granite", "Saffron", "Orchard", "Glacier", "Trellis", "Cobalt", "Willow"}

type demoProperty struct {
	id, name, slug string
}

// demoAccount is one staff member and the habits the demo gives them.
type demoAccount struct {
	idx        int
	id         string // set at registration
	email      string
	property   int
	password   string
	rotations  int
	lastChange time.Time
	// rotateEvery is how long they keep a password; some go past the 90-day maximum.
	rotateEvery time.Duration
	shift       int     // 0: 7:00-15:00, 1: 15:00-23:00
	loginProb   float64 // chance of signing in on a weekday
	registerDay int     // days after the start
	neverActive bool    // registered but never activated (pending)
	deferMFA    bool    // skips enrolment once, enrols when the grace ends
	deferred    bool
	secret      string // TOTP secret once enrolled
	lastStep    int64  // last TOTP step used: a code is never replayed
	device      string
	ip          string
	secondProp  int // -1, or a second property the account is linked to
	// lockoutFirst: the first workday is a lockout, so every size shows one.
	lockoutFirst bool
}

func demoCast(rng *rand.Rand, nProps, nAccounts int) ([]demoProperty, []*demoAccount) {
	props := make([]demoProperty, nProps)
	for i := range props {
		name := fmt.Sprintf("%s %s", demoHotelNames[i%len(demoHotelNames)], demoCities[(i/len(demoHotelNames)+i)%len(demoCities)])
		props[i] = demoProperty{id: fmt.Sprintf("prop-%03d", i+1), name: name, slug: fmt.Sprintf("%s-%03d", slugify(name), i+1)}
	}
	accounts := make([]*demoAccount, nAccounts)
	for i := range accounts {
		p := i % nProps
		a := &demoAccount{
			idx:         i,
			property:    p,
			email:       fmt.Sprintf("%s.%s%d@%s.example", demoFirst[rng.IntN(len(demoFirst))], demoLast[rng.IntN(len(demoLast))], i+1, props[p].slug),
			rotateEvery: time.Duration(75+rng.IntN(14)) * 24 * time.Hour,
			shift:       rng.IntN(2),
			loginProb:   0.1 + 0.3*rng.Float64(),
			registerDay: rng.IntN(14),
			neverActive: i >= nProps && rng.IntN(100) < 2,
			deferMFA:    rng.IntN(100) < 40,
			device:      fmt.Sprintf("desk-%05d", i+1),
			ip:          fmt.Sprintf("10.%d.%d.%d", p/250, p%250, 10+i/nProps%200),
			secondProp:  -1,
		}
		// One in ten keeps a password too long: past 90 days the login refuses it as expired
		// and forces the change (non-compliant with PCI 8.3.9 until then).
		if rng.IntN(10) == 0 {
			a.rotateEvery = time.Duration(95+rng.IntN(30)) * 24 * time.Hour
		}
		if nProps > 1 && rng.IntN(100) < 3 {
			a.secondProp = (p + 1 + rng.IntN(nProps-1)) % nProps
		}
		a.password = demoPassword(a)
		accounts[i] = a
	}
	// Every size tells each story at least once, however few people there are: the first
	// account keeps its password past 90 days and signs in most weekdays, so its expiry
	// shows (the history spans demoMinDays for that), and the second is locked out first.
	keeper := accounts[0]
	keeper.registerDay, keeper.neverActive, keeper.loginProb = 0, false, 0.9
	keeper.rotateEvery = time.Duration(demoMinDays+30) * 24 * time.Hour
	accounts[min(1, nAccounts-1)].lockoutFirst = true
	return props, accounts
}

// demoMinDays is the shortest history: long enough for a password to pass 90 days.
const demoMinDays = 105

// demoPassword is the account's password for its current rotation: long, not on the common
// list, unrelated to the e-mail, and different from the last four.
func demoPassword(a *demoAccount) string {
	return fmt.Sprintf("%s-%s-%04d-r%d", demoWords[a.idx%len(demoWords)], demoWords[(a.idx/len(demoWords)+a.rotations+1)%len(demoWords)], a.idx+1, a.rotations)
}

func slugify(s string) string {
	r := strings.NewReplacer("ô", "o", "é", "e", "è", "e", " ", "-", "'", "")
	return strings.ToLower(r.Replace(s))
}
