package lease_test

import (
	"testing"

	"accountd/eventstore/lease"
	"accountd/eventstore/lease/leasetest"
)

func TestMemoryContract(t *testing.T) {
	leasetest.Test(t, func(t *testing.T) lease.Store { return lease.NewMemory(nil) })
}
