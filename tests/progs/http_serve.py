"""http_serve.py: Python's own threading HTTP server (http.server's
ThreadingHTTPServer and SimpleHTTPRequestHandler, as `python3 -m
http.server` runs them) with a listen backlog of 128 instead of 5.
Usage: http_serve.py PORT DIRECTORY.

With a backlog of 5, 200 clients connecting at once overflow the accept
queue, and the kernel then leaves some connections established on the
client's side only (SYN cookies): whether they recover before the
client's timeout depends on how soon the server drains the queue, which a
cooperative accept loop sharing the CPU with 200 senders does later than
a thread of its own. The test is about serving 200 downloads, not about
that race."""
import functools
import http.server
import sys


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128


port, directory = int(sys.argv[1]), sys.argv[2]
handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                            directory=directory)
with Server(("127.0.0.1", port), handler) as server:
    server.serve_forever()
