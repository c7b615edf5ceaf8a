"""Turns bench/run.sh's results.tsv into the Markdown table BENCHMARKS.md shows.

Each row's instructions, req/s and CPU are given as ratios to the bare actix-web row and to
its reference from the same run: actix-identity with the user lookup an app must write
(`identity-lookup`, `identity-lookup-redis`), the defaults row for the device and timeout
rows, `open-no-manager` for the unguarded route.
"""

import csv
import sys

LABELS = {
    "bare": "(a) bare actix-web handler, no session",
    "identity": "(d) actix-identity 0.9 + actix-session 0.11 (cookie store)",
    "identity-lookup": "(d) actix-identity + the user lookup an app must write (cookie store)",
    "identity-lookup-redis": "(d) actix-identity + the user lookup, on `RedisSessionStore`",
    "ours-devices-memory": "(b) login-runtime, defaults, device registry in memory",
    "ours-devices-redis": "(b) login-runtime, defaults, device registry in Redis",
    "ours-idle": "(b) login-runtime, defaults, idle timeout",
    "ours-no-devices-redis": "(b) login-runtime, defaults, Redis registry's peer: same app without it",
    "ours-off": "(b) login-runtime, session protection off",
    "ours-basic": "(b) login-runtime, defaults (basic protection)",
    "ours-session-hash": "(b) login-runtime, user with `#[auth(session_hash)]`",
    "ours-remember": "(c) login-runtime, only the remember cookie (restore every request)",
    "identity-redis": "(d) actix-identity on `RedisSessionStore`",
    "ours-redis": "(b) login-runtime on `RedisSessionStore`",
    "ours-postgres": "(b) login-runtime on login-stores' `PgSessionStore` (PostgreSQL)",
    "ours-redis-cluster": "(b) login-runtime on login-stores' `RedisSessions`, Redis Cluster (3 primaries)",
    "open-no-manager": "unguarded `/open`, sessions but no `LoginManager`",
    "open-manager": "unguarded `/open` inside `LoginManager`",
    "flask": "(e) Flask-Login 0.6.3 on gunicorn (1 sync worker), session cookie",
    "flask-remember": "(e) Flask-Login 0.6.3, only the remember cookie",
}
# The reference of each row: actix-identity with the user lookup an application on it must
# write itself, on the same store; for the device and timeout rows, the same app without them.
REFERENCE = {"identity": "identity-lookup", "identity-lookup": "identity-lookup",
             "identity-redis": "identity-lookup-redis",
             "identity-lookup-redis": "identity-lookup-redis",
             "ours-redis": "identity-lookup-redis",
             # Issue 20: the server-side stores against the single Redis.
             "ours-postgres": "ours-redis", "ours-redis-cluster": "ours-redis",
             "ours-devices-memory": "ours-basic", "ours-devices-redis": "ours-basic",
             "ours-idle": "ours-basic",
             "open-no-manager": "open-no-manager", "open-manager": "open-no-manager"}


def num(text):
    try:
        return float(text)
    except ValueError:
        return None


def fmt(value):
    return f"{value:.0f}" if value is not None else "–"


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "–"


rows = {r["row"]: r for r in csv.DictReader(open(sys.argv[1]), delimiter="\t")}
# Rows measured with BEFORE_SERVER: the same rows on the older build, same references.
for name in list(rows):
    if name.startswith("before:"):
        base = name.split(":", 1)[1]
        LABELS[name] = "before: " + LABELS.get(base, base)
        REFERENCE[name] = REFERENCE.get(base, "identity-lookup")
print("| server | Ir / request | × bare | × reference | req/s | × reference | p50 | p99 "
      "| CPU µs / request | × reference |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for name, row in rows.items():
    ref = rows.get(REFERENCE.get(name, "identity-lookup"), {})
    bare = rows.get("bare", {})
    ir, req, cpu = num(row["ir"]), num(row["req_s"]), num(row["cpu_us"])
    ir_text = f"{ir / 1000:.1f}k" if ir is not None else "–"
    print(f"| {LABELS.get(name, name)} | {ir_text} | {ratio(ir, num(bare.get('ir', '')))} "
          f"| {ratio(ir, num(ref.get('ir', '')))} | {fmt(req)} | {ratio(req, num(ref.get('req_s', '')))} "
          f"| {row['p50']} | {row['p99']} | {cpu} | {ratio(cpu, num(ref.get('cpu_us', '')))} |")
print()
print("Reference: actix-identity with the user lookup on the same store (cookie rows: "
      "`identity-lookup`, Redis: `identity-lookup-redis`); for the device and timeout rows the "
      "defaults row; for the PostgreSQL and Redis Cluster rows, login-runtime on the single "
      "Redis (`ours-redis`); for `/open`: the same app without `LoginManager`.")
