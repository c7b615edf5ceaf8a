"""A login storm against bench-server, next to browsing clients: bench/run.sh runs it.

    storm.py PORT COOKIE SECONDS phases    -> argon2's rate alone; 10 clients browsing alone;
                                              the same 10 while 50 clients post wrong
                                              passwords as fast as they can
    storm.py PORT COOKIE SECONDS throttle  -> the 50 clients alone, from one address: how many
                                              passwords are checked before the throttle
                                              refuses the rest

Prints Markdown. Browsing clients each GET /protected with the session cookie, one request
at a time with a 5 ms pause (about 150 requests/s each when the server answers at once);
their latencies are what p50/p99 report. Storm clients POST /password-login for random
accounts (5 failures allowed per account) with a wrong password, each waiting for its answer:
401 means argon2 checked it, 429 the throttle refused it before hashing, 503 the hashing queue
was full. Only the standard library.
"""

import http.client
import random
import sys
import threading
import time

AGENT = "bench/1"


def connect(port):
    return http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def browse(port, cookie, stop, latencies, failures):
    conn = connect(port)
    headers = {"User-Agent": AGENT, "Cookie": cookie}
    while not stop.is_set():
        start = time.perf_counter()
        try:
            conn.request("GET", "/protected", headers=headers)
            resp = conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException):
            failures.append("error")
            conn = connect(port)
            continue
        latencies.append(time.perf_counter() - start)
        if (resp.status, body) != (200, b"42"):
            failures.append(resp.status)
        time.sleep(0.005)


def storm(port, stop, counts, lock, accounts):
    conn = connect(port)
    headers = {"User-Agent": AGENT, "Content-Type": "application/x-www-form-urlencoded"}
    while not stop.is_set():
        body = f"name=acc{random.randrange(accounts)}&password=wrong+password"
        try:
            conn.request("POST", "/password-login", body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException):
            status = "error"
            conn = connect(port)
        with lock:
            counts[status] = counts.get(status, 0) + 1


def argon2_rate(port, seconds=3.0):
    """Wrong passwords checked as fast as 8 clients can send them, nothing else running:
    what argon2 allows on the server's core."""
    _, _, counts = run(port, "", seconds, 0, 8, 100_000)
    return counts.get(401, 0) / seconds


def run(port, cookie, seconds, browsers, stormers, accounts):
    stop = threading.Event()
    latencies, failures, counts, lock = [], [], {}, threading.Lock()
    threads = [threading.Thread(target=browse, args=(port, cookie, stop, latencies, failures))
               for _ in range(browsers)]
    threads += [threading.Thread(target=storm, args=(port, stop, counts, lock, accounts))
                for _ in range(stormers)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return latencies, failures, counts


def ms(seconds):
    return f"{seconds * 1000:.2f} ms"


def main():
    port, cookie, seconds, mode = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    if mode == "phases":
        rate = argon2_rate(port)
        quiet, quiet_failures, _ = run(port, cookie, seconds, 10, 0, 1)
        busy, busy_failures, counts = run(port, cookie, seconds, 10, 50, 100_000)
        checked = counts.get(401, 0) / seconds
        print()
        print("Login storm (server pinned to one core; 10 clients browsing, 50 posting wrong "
              f"passwords as fast as they can; {seconds:.0f} s each):")
        print()
        print("| | browsing p50 | browsing p99 | browsing requests | browsing failures "
              "| passwords checked / s | refused by the throttle | refused busy |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        print(f"| browsing alone | {ms(percentile(quiet, 0.5))} | {ms(percentile(quiet, 0.99))} "
              f"| {len(quiet)} | {len(quiet_failures)} | – | – | – |")
        print(f"| with the storm | {ms(percentile(busy, 0.5))} | {ms(percentile(busy, 0.99))} "
              f"| {len(busy)} | {len(busy_failures)} | {checked:.1f} | {counts.get(429, 0)} "
              f"| {counts.get(503, 0)} |")
        print()
        print(f"argon2 alone (8 clients, nothing else running, the same core): {rate:.1f} checks/s; "
              f"the storm got {checked:.1f} checks/s ({checked / rate:.2f}x), browsing p99 "
              f"{percentile(busy, 0.99) / percentile(quiet, 0.99):.2f}x that without the storm.")
    else:
        _, _, counts = run(port, cookie, seconds, 0, 50, 100_000)
        print()
        print(f"The throttle engaging (50 clients from one address, its default limit of 20 "
              f"failures in 15 minutes, {seconds:.0f} s): {counts.get(401, 0)} passwords checked, "
              f"{counts.get(429, 0)} attempts refused before hashing, "
              f"{counts.get(503, 0)} refused busy, {counts.get('error', 0)} errors.")


if __name__ == "__main__":
    main()
