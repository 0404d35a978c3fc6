package postgres_test

import (
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"

	"accountd/eventstore"
	"accountd/eventstore/postgres"
)

// proxy forwards TCP connections to PostgreSQL until cut, which closes its listener and
// every connection through it: the network between a node and its database going away.
type proxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func (p *proxy) start() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Losing the database is a storage failure (reason connection_lost), answered as such and
// not as an internal error; once the database is reachable again the probe says so and
// appends work, without reopening the store.
func TestLostConnectionIsStorageUnavailable(t *testing.T) {
	raw := testURL(t)
	schema := freshSchema(t, raw)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, addr: "127.0.0.1:0", target: u.Host}
	p.start()
	u.Host = p.addr
	s := open(t, u.String(), schema)
	if _, err := s.Append(t.Context(), "acct", eventstore.Any, event(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}

	p.cut()
	_, err = s.Append(t.Context(), "acct", eventstore.Any, event(`{"n":2}`))
	var se *eventstore.StorageError
	if !errors.Is(err, eventstore.ErrStorageUnavailable) || !errors.As(err, &se) || se.Reason != eventstore.StorageConnectionLost {
		t.Fatalf("append with the database gone: %v, want StorageError %s", err, eventstore.StorageConnectionLost)
	}
	if err := s.ProbeStorage(t.Context()); !errors.Is(err, eventstore.ErrStorageUnavailable) {
		t.Fatalf("probe with the database gone: %v, want ErrStorageUnavailable", err)
	}

	p.start() // same port: the pool's next connection goes through
	if err := s.ProbeStorage(t.Context()); err != nil {
		t.Fatalf("probe once the database is back: %v", err)
	}
	if _, err := s.Append(t.Context(), "acct", eventstore.Any, event(`{"n":3}`)); err != nil {
		t.Fatalf("append once the database is back: %v", err)
	}
}

var _ eventstore.StorageProber = (*postgres.Store)(nil)
