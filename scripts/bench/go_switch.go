// go_switch: the Go baseline of tests/progs/bench_switch.c, the same four
// measures with goroutines in place of threads (run it with GOMAXPROCS=1).
//
//	go_switch yield N   two goroutines hand a turn back and forth N times,
//	                    spinning with runtime.Gosched: ns per hand-off
//	go_switch cond N    the same with a sync.Mutex and a sync.Cond
//	go_switch spawn N   go + sync.WaitGroup join, N times: us each
//	go_switch mutex N   uncontended sync.Mutex Lock + Unlock, N times: ns each
//	                    (mutex_main: the same)
//
// Prints one line "mode=... value=... unit=...", as bench_switch does.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

var (
	turn atomic.Int32
	n    int
	mu   sync.Mutex
	cv   = sync.NewCond(&mu)
)

func yielder(me int32) {
	for i := 0; i < n; i++ {
		for turn.Load() != me {
			runtime.Gosched()
		}
		turn.Store(1 - me)
	}
}

func waiter(me int32) {
	mu.Lock()
	for i := 0; i < n; i++ {
		for turn.Load() != me {
			cv.Wait()
		}
		turn.Store(1 - me)
		cv.Signal()
	}
	mu.Unlock()
}

// pingpong runs fn in two goroutines that hand off 2n times and returns
// the ns per hand-off.
func pingpong(fn func(int32)) float64 {
	var wg sync.WaitGroup
	t0 := time.Now()
	wg.Add(2)
	go func() { fn(0); wg.Done() }()
	go func() { fn(1); wg.Done() }()
	wg.Wait()
	return float64(time.Since(t0).Nanoseconds()) / (2.0 * float64(n))
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: go_switch yield|cond|spawn|mutex N")
		os.Exit(2)
	}
	mode := os.Args[1]
	n, _ = strconv.Atoi(os.Args[2])
	if n <= 0 {
		fmt.Fprintln(os.Stderr, "go_switch: N must be a positive number")
		os.Exit(2)
	}
	var v float64
	unit := "ns"
	switch mode {
	case "yield":
		v = pingpong(yielder)
	case "cond":
		v = pingpong(waiter)
	case "spawn":
		var wg sync.WaitGroup
		t0 := time.Now()
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() { wg.Done() }()
			wg.Wait()
		}
		v = float64(time.Since(t0).Nanoseconds()) / 1e3 / float64(n)
		unit = "us"
	case "mutex", "mutex_main": // Go has no thread-less phase
		t0 := time.Now()
		for i := 0; i < n; i++ {
			mu.Lock()
			mu.Unlock()
		}
		v = float64(time.Since(t0).Nanoseconds()) / float64(n)
	default:
		fmt.Fprintf(os.Stderr, "go_switch: unknown mode %s\n", mode)
		os.Exit(2)
	}
	fmt.Printf("mode=%s value=%.3f unit=%s\n", mode, v, unit)
}
