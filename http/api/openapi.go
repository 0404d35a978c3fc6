package api

import (
	_ "embed"
	"net/http"
)

// openAPIDocument is the hand-written OpenAPI 3.1 description of every route. It is
// written by hand, not generated, because what matters to a client (roles, error codes,
// the disclosure rules) is not in the Go types; TestOpenAPIMatchesRoutes keeps its paths
// and methods equal to the route table.
//
//go:embed openapi.yaml
var openAPIDocument []byte

var contentTypeYAML = []string{"application/yaml"}

// openAPI serves the description. It needs no token: it describes the interface, not data.
func (a *API) openAPI(x *exchange) error {
	x.Header()["Content-Type"] = contentTypeYAML
	x.WriteHeader(http.StatusOK)
	_, err := x.Write(openAPIDocument)
	return err
}

// OpenAPI returns the embedded OpenAPI document.
func OpenAPI() []byte { return append([]byte(nil), openAPIDocument...) }
