"""The echo benchmark's Python server: socketserver.ThreadingTCPServer, one
thread per connection. Usage: py_echo.py [gevent] PORT. With "gevent" it
runs under gevent.monkey.patch_all(); without, it is plain Python (run it
under LD_PRELOAD=libgpatch.so to compare)."""
import sys

if len(sys.argv) > 2 and sys.argv[1] == "gevent":
    from gevent import monkey
    monkey.patch_all()

import signal
import socketserver


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        while True:
            data = sock.recv(65536)
            if not data:
                return
            sock.sendall(data)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 4096


def main():
    port = int(sys.argv[-1])
    server = Server(("127.0.0.1", port), Echo)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except SystemExit:
        pass


main()
