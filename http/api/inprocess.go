package api

import (
	"context"
	"net/http"
	"slices"
)

// In-process callers: the browser console (http/console) is a client of this API in the
// same process. It forwards a signed-in person's bearer token, so every read and every
// command goes through the same routes, role checks and handlers as over HTTP, and the
// public pages of the mailed links act as the login service, which they stand in for.

type asRolesKey struct{}

// As serves requests as a client holding the roles, with no bearer token: what the public
// pages of the mailed links use, acting for the login service. The roles travel in the
// request's context under a key only this package can set, so no HTTP request can claim them.
func (a *API) As(roles ...Role) http.Handler {
	granted := rolesOf(roles...)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), asRolesKey{}, granted)))
	})
}

// requestRoles are the roles a request holds: those As gave it, else its bearer token's.
func (a *API) requestRoles(r *http.Request) roleSet {
	if granted, ok := r.Context().Value(asRolesKey{}).(roleSet); ok {
		return granted
	}
	return a.auth.roles(r)
}

// TokenRoles returns the roles a bearer token grants (none: not a known token), checked as
// a request's token is, in constant time.
func (a *API) TokenRoles(token string) []Role {
	granted := a.auth.check(token)
	var out []Role
	for i, r := range Roles {
		if granted&(1<<i) != 0 {
			out = append(out, r)
		}
	}
	return out
}

// May reports whether a client holding roles may call the route named name (false for an
// unknown name), so a client shows only what the API would let it do.
func (a *API) May(name string, roles []Role) bool {
	for _, rt := range a.routes {
		if rt.Name != name {
			continue
		}
		if len(rt.Roles) == 0 {
			return true
		}
		for _, r := range roles {
			if slices.Contains(rt.Roles, string(r)) {
				return true
			}
		}
		return false
	}
	return false
}
