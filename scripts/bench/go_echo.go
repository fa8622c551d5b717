// go_echo: the Go baseline of the echo benchmark, the Go counterpart of
// tests/progs/echo_server.c: one goroutine per connection, blocking Read
// and Write on a 4 KiB buffer (run it with GOMAXPROCS=1). Usage: go_echo
// PORT (listens on 127.0.0.1). SIGTERM or SIGINT stops it; before exiting
// it prints "served=N bytes=M" on stdout.
//
// Go turns Nagle's algorithm off on every TCP connection, the C servers
// leave it on; with one 64-byte message in flight per connection, as the
// benchmark sends, that changes nothing.
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

var (
	statsLock sync.Mutex
	served    uint64 // Connections that reached EOF or an error.
	bytes     uint64 // Bytes written back to clients.
)

// serve echoes everything it reads from c until EOF or an error, then
// closes c and adds to the counters.
func serve(c net.Conn) {
	buf := make([]byte, 4096)
	var total uint64
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				break
			}
			total += uint64(n)
		}
		if err != nil {
			break
		}
	}
	c.Close()
	statsLock.Lock()
	served++
	bytes += total
	statsLock.Unlock()
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintf(os.Stderr, "usage: %s PORT\n", os.Args[0])
		os.Exit(2)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "go_echo: listen: %v\n", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		statsLock.Lock()
		fmt.Printf("served=%d bytes=%d\n", served, bytes)
		os.Exit(0)
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			// Out of fds, for one: wait a little, as echo_server does.
			fmt.Fprintf(os.Stderr, "go_echo: accept: %v\n", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go serve(c)
	}
}
