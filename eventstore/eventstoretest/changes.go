package eventstoretest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"accountd/eventstore"

	"github.com/google/uuid"
)

// wakeTimeout is generous on purpose: it only bounds a failing test, a passing one is
// woken in microseconds.
const wakeTimeout = 10 * time.Second

var changesCases = []testCase{
	{"SubscribersWokenAfterAppend", func(t *testing.T, s eventstore.Store) {
		first, stopFirst := s.Changes()
		defer stopFirst()
		second, stopSecond := s.Changes()
		defer stopSecond()
		stopped, stop := s.Changes()
		stop()
		stop() // twice is harmless

		mustAppend(t, s, "acct", eventstore.NoStream, newEvent("Opened"))
		for i, ch := range []<-chan struct{}{first, second} {
			select {
			case <-ch:
			case <-time.After(wakeTimeout):
				t.Fatalf("subscriber %d not woken after an append", i)
			}
		}
		select {
		case <-stopped:
			t.Fatal("a stopped subscription was woken")
		default:
		}
	}},
	{"FollowDeliversEveryEventOnceInOrder", func(t *testing.T, s eventstore.Store) {
		const before, writers, appendsPerWriter = 10, 3, 15
		for range before {
			mustAppend(t, s, "early", eventstore.Any, newEvent("Deposited"))
		}
		total := before + writers*appendsPerWriter*2

		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		delivered := make(chan eventstore.RecordedEvent, total+100)
		followErr := make(chan error, 1)
		go func() {
			followErr <- eventstore.Follow(ctx, s, 0, 7, func(_ context.Context, events []eventstore.RecordedEvent) error {
				for _, e := range events {
					delivered <- e
				}
				return nil
			})
		}()

		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range appendsPerWriter {
					if _, err := s.Append(t.Context(), fmt.Sprintf("live-%d", w), eventstore.Any, newEvents("Deposited", 2)...); err != nil {
						t.Errorf("writer %d append %d: %v", w, i, err)
						return
					}
					if i%5 == 0 {
						time.Sleep(time.Millisecond) // let the follower catch up and wait
					}
				}
			})
		}
		wg.Wait()

		seen := map[uuid.UUID]bool{}
		for i := range total {
			select {
			case e := <-delivered:
				if e.Position != uint64(i)+1 {
					t.Fatalf("delivery %d has position %d", i, e.Position)
				}
				if seen[e.ID] {
					t.Fatalf("event %s delivered twice", e.ID)
				}
				seen[e.ID] = true
			case <-time.After(wakeTimeout):
				t.Fatalf("follow delivered %d of %d events", i, total)
			}
		}
		cancel()
		select {
		case err := <-followErr:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("follow returned %v after cancel, want context.Canceled", err)
			}
		case <-time.After(wakeTimeout):
			t.Fatal("follow did not stop when its context was cancelled")
		}
		if n := len(delivered); n != 0 {
			t.Fatalf("follow delivered %d events beyond the log", n)
		}
	}},
	{"FollowFromPositionAndHandlerError", func(t *testing.T, s eventstore.Store) {
		for range 5 {
			mustAppend(t, s, "acct", eventstore.Any, newEvent("Deposited"))
		}
		stopHere := errors.New("stop here")
		var got []uint64
		err := eventstore.Follow(t.Context(), s, 2, 100, func(_ context.Context, events []eventstore.RecordedEvent) error {
			for _, e := range events {
				got = append(got, e.Position)
			}
			return stopHere
		})
		if !errors.Is(err, stopHere) {
			t.Fatalf("follow returned %v, want the handler's error", err)
		}
		if !equalPositions(got, []uint64{3, 4, 5}) {
			t.Fatalf("follow after 2 delivered %v, want [3 4 5]", got)
		}
	}},
}
