package api

import (
	"net/http"

	"github.com/gorilla/mux"
)

// maxIDLength bounds identifiers in paths; accountd's own are UUIDs (36) or a session's
// account and UUID (73), and invoice numbers come from billing systems.
const maxIDLength = 128

// checkPathIDs refuses a malformed identifier before any handler loads a stream for it, so
// junk in a URL is a 400 naming the parameter rather than a confusing 404 or a stream name.
func (x *exchange) checkPathIDs() error {
	if x.fastID != "" {
		return checkID("id", x.fastID)
	}
	for name, v := range mux.Vars(x.r) {
		if err := checkID(name, v); err != nil {
			return err
		}
	}
	return nil
}

func checkID(name, v string) error {
	if len(v) == 0 || len(v) > maxIDLength {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidID, Message: "path parameter " + name + " must be 1 to 128 characters"}
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return &Error{Status: http.StatusBadRequest, Code: CodeInvalidID, Message: "path parameter " + name + " may hold only letters, digits and - _ . :"}
		}
	}
	return nil
}
