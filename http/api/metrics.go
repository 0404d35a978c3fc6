package api

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// httpMetrics are the API's own Prometheus series. A nil *httpMetrics (Config.Metrics
// unset) disables them: every method is nil-safe, so the handlers never test for it.
type httpMetrics struct {
	latency *prometheus.HistogramVec
	logins  *prometheus.CounterVec
	scrape  http.Handler
	// unmatched collects requests that ended before an endpoint was chosen (a panic in
	// the router), so they are still counted.
	unmatched routeObservers
}

func newHTTPMetrics(reg *prometheus.Registry) (*httpMetrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &httpMetrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "accountd_http_request_duration_seconds",
			Help: "Time from the request reaching the API to the handler returning, by route name and status code.",
			// The status read takes microseconds; a login is dominated by argon2id (tens
			// to hundreds of milliseconds). The buckets cover both ends.
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "status"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "accountd_login_decisions_total",
			Help: "Sign-in decisions the API returned, by decision and reason (reason is \"none\" when the decision gives none).",
		}, []string{"decision", "reason"}),
	}
	for _, c := range []prometheus.Collector{m.latency, m.logins} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	m.scrape = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	return m, nil
}

// routeObservers caches, per endpoint, the histogram's child for each status it has
// answered. Looking a child up through WithLabelValues hashes the labels and formats the
// status on every request; the cache makes the hot path a pointer load and a scan of a
// handful of entries, with no allocation. It is copy-on-write: the rare miss (a status
// the route had not answered before) takes the lock and publishes a new slice.
type routeObservers struct {
	mu   sync.Mutex
	list atomic.Pointer[[]statusObserver]
}

type statusObserver struct {
	status int
	obs    prometheus.Observer
}

func (ro *routeObservers) get(m *httpMetrics, route string, status int) prometheus.Observer {
	if l := ro.list.Load(); l != nil {
		for _, so := range *l {
			if so.status == status {
				return so.obs
			}
		}
	}
	ro.mu.Lock()
	defer ro.mu.Unlock()
	var old []statusObserver
	if l := ro.list.Load(); l != nil {
		old = *l
		for _, so := range old {
			if so.status == status {
				return so.obs
			}
		}
	}
	obs := m.latency.WithLabelValues(route, strconv.Itoa(status))
	next := append(append(make([]statusObserver, 0, len(old)+1), old...), statusObserver{status, obs})
	ro.list.Store(&next)
	return obs
}

// observe records the request's latency under its route and final status.
func (m *httpMetrics) observe(x *exchange) {
	if m == nil {
		return
	}
	status := x.status
	if status == 0 {
		status = http.StatusOK
	}
	ro, route := &m.unmatched, "unmatched"
	if x.endpoint != nil {
		ro, route = &x.endpoint.metrics, x.endpoint.name
	}
	ro.get(m, route, status).Observe(time.Since(x.start).Seconds())
}

// login counts a sign-in decision. Both labels come from the domain's closed sets of
// decisions and reasons, so the series stay few.
func (m *httpMetrics) login(decision, reason string) {
	if m == nil {
		return
	}
	if reason == "" {
		reason = "none"
	}
	m.logins.WithLabelValues(decision, reason).Inc()
}

// metricsEndpoint serves the registry in the Prometheus text format. It needs no token:
// Prometheus scrapers rarely carry one, and nothing in the series names a person or an
// account. Operators who do not want it reachable keep the port on their network or turn
// it off (accountd serve --metrics=false).
func (a *API) metricsEndpoint(x *exchange) error {
	a.metrics.scrape.ServeHTTP(x, x.r)
	return nil
}
