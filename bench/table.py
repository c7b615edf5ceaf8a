"""Turns bench/run.sh's results.tsv into the Markdown table BENCHMARKS.md shows.

Each row's instructions, req/s and CPU are given as ratios to the bare actix-web row and to
its actix-identity reference from the same run: `identity` for the cookie-store rows,
`identity-redis` for the Redis row, `open-no-manager` for the unguarded route.
"""

import csv
import sys

LABELS = {
    "bare": "(a) bare actix-web handler, no session",
    "identity": "(d) actix-identity 0.9 + actix-session 0.11 (cookie store)",
    "ours-off": "(b) login-runtime, session protection off",
    "ours-basic": "(b) login-runtime, defaults (basic protection)",
    "ours-session-hash": "(b) login-runtime, user with `#[auth(session_hash)]`",
    "ours-remember": "(c) login-runtime, only the remember cookie (restore every request)",
    "identity-redis": "(d) actix-identity on `RedisSessionStore`",
    "ours-redis": "(b) login-runtime on `RedisSessionStore`",
    "open-no-manager": "unguarded `/open`, sessions but no `LoginManager`",
    "open-manager": "unguarded `/open` inside `LoginManager`",
    "flask": "(e) Flask-Login 0.6.3 on gunicorn (1 sync worker), session cookie",
    "flask-remember": "(e) Flask-Login 0.6.3, only the remember cookie",
}
REFERENCE = {"identity-redis": "identity-redis", "ours-redis": "identity-redis",
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
        REFERENCE[name] = REFERENCE.get(base, "identity")
print("| server | Ir / request | × bare | × reference | req/s | × reference | p50 | p99 "
      "| CPU µs / request | × reference |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for name, row in rows.items():
    ref = rows.get(REFERENCE.get(name, "identity"), {})
    bare = rows.get("bare", {})
    ir, req, cpu = num(row["ir"]), num(row["req_s"]), num(row["cpu_us"])
    ir_text = f"{ir / 1000:.1f}k" if ir is not None else "–"
    print(f"| {LABELS.get(name, name)} | {ir_text} | {ratio(ir, num(bare.get('ir', '')))} "
          f"| {ratio(ir, num(ref.get('ir', '')))} | {fmt(req)} | {ratio(req, num(ref.get('req_s', '')))} "
          f"| {row['p50']} | {row['p99']} | {cpu} | {ratio(cpu, num(ref.get('cpu_us', '')))} |")
print()
print("Reference: actix-identity on the same store (cookie rows: `identity`, Redis: "
      "`identity-redis`); for `/open`: the same app without `LoginManager`.")
