"""The one HTTP client bench/run.sh uses: logs in, checks, and sends N requests.

    client.py login  PORT (session|remember)   -> prints the Cookie header to send
    client.py check  PORT PATH COOKIE           -> exit 1 unless COOKIE gives 200 "42" and
                                                   no cookie gives 401 (PATH /protected)
    client.py run    PORT PATH COOKIE N         -> N GETs on one keep-alive connection, each
                                                   checked for 200 "42"

Every request sends the same User-Agent as wrk (`-H "User-Agent: bench/1"`), so session
protection sees one client throughout. Only the standard library: runs on any python3.
"""

import http.client
import sys

AGENT = "bench/1"
REMEMBER = "remember_token"


def connect(port):
    return http.client.HTTPConnection("127.0.0.1", int(port), timeout=60)


def get(conn, path, cookie, with_cookies=False):
    headers = {"User-Agent": AGENT}
    if cookie:
        headers["Cookie"] = cookie
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    if with_cookies:
        return resp.status, resp.read(), resp.msg.get_all("Set-Cookie") or []
    return resp.status, resp.read()


def login(port, mode):
    conn = connect(port)
    path = "/login?remember=1" if mode == "remember" else "/login"
    conn.request("POST", path, body=b"", headers={"User-Agent": AGENT, "Content-Length": "0"})
    resp = conn.getresponse()
    resp.read()
    if resp.status != 200:
        sys.exit(f"login: HTTP {resp.status}")
    pairs = [c.split(";", 1)[0].strip() for c in resp.msg.get_all("Set-Cookie") or []]
    if mode == "remember":
        pairs = [p for p in pairs if p.startswith(REMEMBER + "=")]
    else:
        pairs = [p for p in pairs if not p.startswith(REMEMBER + "=")]
    if not pairs:
        sys.exit(f"login: no {mode} cookie in {resp.msg.get_all('Set-Cookie')}")
    print("; ".join(pairs))


def check(port, path, cookie):
    conn = connect(port)
    status, body, set_cookies = get(conn, path, cookie, with_cookies=True)
    if (status, body) != (200, b"42"):
        sys.exit(f"check: with the cookie {path} gave {status} {body[:80]!r}, not 200 '42'")
    # A session login replayed by the same client changes nothing: no Set-Cookie. One would
    # mean the load takes another path (session protection's mismatch, say) than measured.
    if cookie and REMEMBER + "=" not in cookie and set_cookies:
        sys.exit(f"check: the replayed session cookie got Set-Cookie {set_cookies}")
    if path == "/protected" and cookie:
        status, body = get(connect(port), path, None)
        if status != 401:
            sys.exit(f"check: without a cookie {path} gave {status}, not 401")


def run(port, path, cookie, n):
    conn = connect(port)
    for i in range(int(n)):
        status, body = get(conn, path, cookie)
        if (status, body) != (200, b"42"):
            sys.exit(f"run: request {i} gave {status} {body[:80]!r}")
    conn.close()


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"login": login, "check": check, "run": run}[command](*args)
