package serve

import (
	"net/http"

	"accountd/http/console"
)

// newHandler puts the console (and the public pages of the mailed links) in front of the
// API: the console answers its own paths and is itself a client of the API in process.
func (s *Server) newHandler() (http.Handler, error) {
	if s.cfg.DisableConsole && s.cfg.DisablePublicPages {
		return s.api, nil
	}
	con, err := console.New(console.Config{
		API: s.api, Policy: s.service.Policy, Clock: s.cfg.Clock, Logger: s.log,
		Console: !s.cfg.DisableConsole, PublicPages: !s.cfg.DisablePublicPages,
	})
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if con.Serves(r.URL.Path) {
			con.ServeHTTP(w, r)
			return
		}
		s.api.ServeHTTP(w, r)
	}), nil
}
