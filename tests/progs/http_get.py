"""http_get.py: 200 concurrent downloads of one file from an HTTP server,
each checked against the file's SHA-256. Usage: http_get.py PORT FILE.
Prints downloads=N ok=N (key=value); exits 0 when all matched. Runs
unpatched: it is the load, the server is what the test patches."""
import hashlib
import sys
import threading
import urllib.request

port, path = int(sys.argv[1]), sys.argv[2]
want = hashlib.sha256(open(path, "rb").read()).hexdigest()
name = path.rsplit("/", 1)[-1]
ok = 0
lock = threading.Lock()


def get():
    global ok
    url = "http://127.0.0.1:%d/%s" % (port, name)
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            got = hashlib.sha256(r.read()).hexdigest()
    except OSError as e:
        print("error:", e, file=sys.stderr)
        return
    if got == want:
        with lock:
            ok += 1


threads = [threading.Thread(target=get) for _ in range(200)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("downloads=%d ok=%d" % (len(threads), ok))
sys.exit(0 if ok == len(threads) else 1)
