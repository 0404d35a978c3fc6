// Package api is accountd's HTTP interface: JSON over gorilla/mux under /v1, bearer tokens
// bound to roles, one stable error shape, and request IDs that tie a response to its log
// line and to the events it caused (the correlation ID).
//
// The account status read is the login flow's hot path, so it is dispatched before the
// router and encoded by hand into a pooled buffer; everything else goes through mux and
// encoding/json, where clarity is worth more than the microseconds.
package api
