"""Issue 23's before/after table from one results.tsv of `BEFORE_SERVER=… bench/run.sh`:
each login-runtime row on both builds, in instructions per request and as a ratio to
actix-identity *with a user lookup* on the same store (for `/open`: the same app without
`LoginManager`), with the issue's target; then the rows with a device registry and idle
timeouts next to the same app without them (instructions, p50 / p99); then requests per
second under load, next to the same reference (when the run measured load).

    python3 bench/compare_lookup.py bench/results/LABEL/results.tsv
"""

import csv
import sys

ROWS = [
    ("ours-off", "session protection off", "identity-lookup", 1.00),
    ("ours-basic", "defaults (basic protection)", "identity-lookup", 1.05),
    ("ours-session-hash", "user with `#[auth(session_hash)]`", "identity-lookup", 1.15),
    ("ours-remember", "only the remember cookie (restore every request)", "identity-lookup", 1.35),
    ("ours-redis", "on `RedisSessionStore`", "identity-lookup-redis", 1.05),
    ("open-manager", "unguarded route inside `LoginManager`", "open-no-manager", 1.02),
]

EXTRA = [
    ("ours-devices-memory", "device registry in memory", "ours-basic"),
    ("ours-devices-redis", "device registry on Redis", "ours-basic"),
    ("ours-idle", "idle timeout on", "ours-basic"),
]

rows = {r["row"]: r for r in csv.DictReader(open(sys.argv[1]), delimiter="\t")}


def ir(name):
    try:
        return int(rows[name]["ir"])
    except (KeyError, ValueError):
        return None


def k(value):
    return f"{value / 1000:.1f}k" if value is not None else "–"


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "–"


print("| login-runtime row | reference | reference Ir | before Ir | × ref | after Ir | × ref | target | met |")
print("|---|---|---:|---:|---:|---:|---:|---:|:---:|")
for name, label, ref, target in ROWS:
    reference, before, after = ir(ref), ir(f"before:{name}"), ir(name)
    met = "yes" if after and reference and after / reference <= target + 1e-9 else "no"
    print(
        f"| {label} | `{ref}` | {k(reference)} | {k(before)} | {ratio(before, reference)} "
        f"| {k(after)} | {ratio(after, reference)} | ≤ {target:.2f} | {met} |"
    )
print()
print("| row | Ir | same app without | its Ir | × |")
print("|---|---:|---|---:|---:|")
for name, label, ref in EXTRA:
    print(f"| {label} | {k(ir(name))} | `{ref}` | {k(ir(ref))} | {ratio(ir(name), ir(ref))} |")


def field(name, column):
    value = rows.get(name, {}).get(column, "")
    return value if value not in ("", "-", "nan") else None


def rps(name):
    value = field(name, "req_s")
    return float(value) if value else None


print()
print("| row | p50 | p99 | same app without | its p50 | its p99 |")
print("|---|---:|---:|---|---:|---:|")
for name, label, ref in EXTRA:
    print(
        f"| {label} | {field(name, 'p50') or '–'} | {field(name, 'p99') or '–'} | `{ref}` "
        f"| {field(ref, 'p50') or '–'} | {field(ref, 'p99') or '–'} |"
    )

if any(rps(name) for name, *_ in ROWS):
    print()
    print("| under load (server on one core) | req/s | reference | its req/s | × ref | before req/s | × ref |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for name, label, ref, _ in ROWS:
        after, reference, before = rps(name), rps(ref), rps(f"before:{name}")
        show = lambda v: f"{v:,.0f}" if v else "–"
        print(
            f"| {label} | {show(after)} | `{ref}` | {show(reference)} | {ratio(after, reference)} "
            f"| {show(before)} | {ratio(before, reference)} |"
        )
