package api

import (
	"net/http"

	"github.com/gorilla/mux"
)

// Plain routes answer something other than JSON (the OpenAPI document, the Prometheus
// text format). They go through the same endpoint machinery (request IDs, logs, latency)
// but stay out of Routes(): every entry there answers in JSON, errors included, and the
// end-to-end tests hold each one to that. PlainRoutes lists them for the OpenAPI test.

func (a *API) plainRoutes() []Route {
	routes := []Route{{Method: http.MethodGet, Path: "/openapi.yaml", Name: "openapi"}}
	if a.metrics != nil {
		routes = append(routes, Route{Method: http.MethodGet, Path: "/metrics", Name: "metrics"})
	}
	return routes
}

// PlainRoutes lists the registered endpoints that answer something other than JSON.
func (a *API) PlainRoutes() []Route { return a.plainRoutes() }

func (a *API) registerPlainRoutes(r *mux.Router) {
	handlers := map[string]handler{"openapi": a.openAPI, "metrics": a.metricsEndpoint}
	for _, rt := range a.plainRoutes() {
		r.Handle(rt.Path, &endpoint{name: rt.Name, template: rt.Path, h: handlers[rt.Name]}).Methods(rt.Method)
	}
}
