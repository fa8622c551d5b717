// go_idle: the Go baseline of tests/progs/bench_idle.c, many goroutines
// that block at once (run it with GOMAXPROCS=1).
//
//	go_idle sleep N   N goroutines each sleep 2 s, then end
//	go_idle cond N    N goroutines wait on one sync.Cond until a broadcast
//
// Goroutine stacks are the runtime's own (they start small and grow); there
// is no size to ask. Prints "threads=... created=... create_ms=...
// rss_kb_per_thread=... joined=... total_ms=...", as bench_idle does: the
// RSS is read from /proc/self/status once every goroutine is blocked, and
// threads is the process's OS thread count then. Exits 0 when all joined.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

var (
	mu      sync.Mutex
	cv      = sync.NewCond(&mu)
	started int
	goAhead bool
	useCond bool
	wg      sync.WaitGroup
)

// statusKB returns the value of the line "key N kB" of /proc/self/status
// (or a plain count such as Threads:), or -1.
func statusKB(key string) int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if !strings.HasPrefix(line, key) {
			continue
		}
		f := strings.Fields(line[len(key):])
		if len(f) > 0 {
			if v, err := strconv.Atoi(f[0]); err == nil {
				return v
			}
		}
	}
	return -1
}

func worker() {
	defer wg.Done()
	mu.Lock()
	started++
	if useCond {
		for !goAhead {
			cv.Wait()
		}
		mu.Unlock()
	} else {
		mu.Unlock()
		time.Sleep(2 * time.Second)
	}
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: go_idle sleep|cond N")
		os.Exit(2)
	}
	useCond = os.Args[1] == "cond"
	n, _ := strconv.Atoi(os.Args[2])
	rss0 := statusKB("VmRSS:")
	t0 := time.Now()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go worker()
	}
	t1 := time.Now()
	for { // until every goroutine has blocked
		mu.Lock()
		s := started
		mu.Unlock()
		if s == n {
			break
		}
		time.Sleep(time.Millisecond)
	}
	threads := statusKB("Threads:")
	rss1 := statusKB("VmRSS:")
	mu.Lock()
	goAhead = true
	cv.Broadcast()
	mu.Unlock()
	wg.Wait()
	perThread := 0.0
	if n > 0 {
		perThread = float64(rss1-rss0) / float64(n)
	}
	fmt.Printf("threads=%d created=%d create_ms=%.1f rss_kb_per_thread=%.2f "+
		"joined=%d total_ms=%.0f\n",
		threads, n, t1.Sub(t0).Seconds()*1e3, perThread, n,
		time.Since(t0).Seconds()*1e3)
}
