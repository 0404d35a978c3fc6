package postgres_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"accountd/eventstore/postgres"
)

// A node in another process, for BenchmarkAppendNodesPaired: the test binary run again
// with nodeSchemaEnv set opens a store on that schema, warms it up, says "ready", and on
// "go" makes nodeAppendsEnv appends with 32 writers, then says how long they took.

const (
	nodeSchemaEnv  = "ACCOUNTD_BENCH_NODE_SCHEMA"
	nodeAppendsEnv = "ACCOUNTD_BENCH_NODE_CHILD_APPENDS"
)

func TestMain(m *testing.M) {
	if schema := os.Getenv(nodeSchemaEnv); schema != "" {
		if err := runNodeProcess(schema); err != nil {
			fmt.Fprintln(os.Stderr, "node process:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runNodeProcess(schema string) error {
	n, err := strconv.Atoi(os.Getenv(nodeAppendsEnv))
	if err != nil {
		return fmt.Errorf("%s: %w", nodeAppendsEnv, err)
	}
	ctx := context.Background()
	s, err := postgres.Open(ctx, os.Getenv(urlEnv), postgres.WithSchema(schema))
	if err != nil {
		return err
	}
	defer s.Close()
	stores := []*postgres.Store{s}
	if _, err := appendAcross(ctx, stores, 32, n/10, "child-warm"); err != nil {
		return err
	}
	fmt.Println("ready")
	if line, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil || line != "go\n" {
		return fmt.Errorf("waiting for go: %q, %v", line, err)
	}
	elapsed, err := appendAcross(ctx, stores, 32, n, "child")
	if err != nil {
		return err
	}
	fmt.Println(elapsed.Nanoseconds())
	return nil
}

// appendPhaseTwoProcesses returns the events/s of n appends by two nodes on a fresh schema,
// one in this process and one in another, 32 writers and n/2 appends each, started
// together after both have warmed up; the phase lasts until the slower node is done.
func appendPhaseTwoProcesses(b *testing.B, url string, n int) float64 {
	schema := freshSchema(b, url)
	stores := []*postgres.Store{open(b, url, schema)}
	defer stores[0].Close()
	child := osexec.CommandContext(b.Context(), os.Args[0], "-test.run", "^$")
	child.Env = append(os.Environ(), nodeSchemaEnv+"="+schema, nodeAppendsEnv+"="+strconv.Itoa(n/2))
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = child.Wait() }()
	lines := bufio.NewScanner(stdout)
	if _, err := appendAcross(b.Context(), stores, 32, n/20, "warm"); err != nil {
		b.Fatal(err)
	}
	if !lines.Scan() || lines.Text() != "ready" {
		b.Fatalf("node process: %q, %v", lines.Text(), lines.Err())
	}
	if _, err := fmt.Fprintln(stdin, "go"); err != nil {
		b.Fatal(err)
	}
	own, err := appendAcross(b.Context(), stores, 32, n/2, "acct")
	if err != nil {
		b.Fatal(err)
	}
	if !lines.Scan() {
		b.Fatalf("node process ended: %v", lines.Err())
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(lines.Text()), 10, 64)
	if err != nil {
		b.Fatalf("node process: %q", lines.Text())
	}
	return float64(n) / max(own, time.Duration(ns)).Seconds()
}
