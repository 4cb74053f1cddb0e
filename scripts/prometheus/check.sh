#!/usr/bin/env bash
# Checks the Prometheus configuration, rules and rule unit tests with promtool, and the Grafana dashboard:
# valid JSON, every panel has a datasource and targets with a non-empty expr, and every metric an expr names
# is documented in docs/METRICS.md or docs/TRANSFER.md (so a renamed metric breaks CI, not a dashboard).
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v promtool >/dev/null || { echo "check.sh: promtool is missing (apt-get install prometheus)" >&2; exit 2; }

promtool check config scripts/prometheus/prometheus.yml
promtool check rules scripts/prometheus/rules/*.yml
promtool test rules scripts/prometheus/tests/*.yml

python3 - scripts/grafana/dataplane.json docs/METRICS.md docs/TRANSFER.md <<'PY'
import json, re, sys

dashboard_path, *doc_paths = sys.argv[1:]
docs = "".join(open(p, encoding="utf-8").read() for p in doc_paths)
# Documented names; the tables write the dataplane_infiniband_* family as `…_suffix` and `a_{b,c}_d` shorthand.
documented = set(re.findall(r"\b((?:dataplane|process|dotnet)_[a-z0-9_]+)", docs))
shorthand = re.findall(r"`…(_[a-z0-9_{},]+)`", docs)
def expand(s):
    m = re.search(r"\{([a-z,]+)\}", s)
    return [s[:m.start()] + v + s[m.end():] for v in m.group(1).split(",")] if m else [s]
for s in shorthand:
    for e in expand(s):
        documented.add("dataplane_infiniband" + e)
for s in re.findall(r"`(dataplane_[a-z0-9_]*\{[a-z,]+\}[a-z0-9_]*)`", docs):
    documented.update(expand(s))

def known(name):
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    return name in documented or base in documented

with open(dashboard_path, encoding="utf-8") as f:
    dashboard = json.load(f)
errors = []
panels = dashboard.get("panels") or []
if not panels:
    errors.append("dashboard has no panels")
for panel in panels:
    title = panel.get("title", "?")
    if not panel.get("datasource"):
        errors.append(f"panel '{title}': no datasource")
    targets = panel.get("targets") or []
    if not targets:
        errors.append(f"panel '{title}': no targets")
    for t in targets:
        expr = (t.get("expr") or "").strip()
        if not expr:
            errors.append(f"panel '{title}' target {t.get('refId')}: empty expr")
            continue
        if not t.get("datasource"):
            errors.append(f"panel '{title}' target {t.get('refId')}: no datasource")
        for name in re.findall(r"\b((?:dataplane|process)_[a-z0-9_]+)", expr):
            if not known(name):
                errors.append(f"panel '{title}': metric {name} is not documented in docs/METRICS.md or docs/TRANSFER.md")
for e in errors:
    print("dashboard: " + e, file=sys.stderr)
if errors:
    sys.exit(1)
print(f"dashboard: {len(panels)} panels, every expr names documented metrics")
PY
