#!/usr/bin/env bash
# Alerts and dashboard as code. ops/prometheus/alerts.yml is checked by promtool (Debian's
# `prometheus` package): its syntax and one unit test per alert (alerts.test.yml). This then
# checks that k8s/monitoring/prometheusrule.yaml holds the same groups, that every alert has a
# test and a runbook entry (docs/runbook.md), and that every metric an alert or a panel of
# ops/grafana/dashboards/ reads is one the services export. Run by scripts/validate-deploy.sh
# (it needs that script's Python venv, $1).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$RELANCE_ROOT"
python=${1:?usage: check-observability.sh <python with PyYAML>}

command -v promtool >/dev/null || { log "installing promtool (Debian package prometheus)"; apt_install prometheus; }
log "alerts: promtool check rules and test rules (ops/prometheus/)"
promtool check rules ops/prometheus/alerts.yml
(cd ops/prometheus && promtool test rules alerts.test.yml)

log "alerts and dashboard: the PrometheusRule, tests, runbook entries and metrics agree"
"$python" - <<'PY'
import json, pathlib, re, sys, yaml
rules = yaml.safe_load(open("ops/prometheus/alerts.yml"))
operator = yaml.safe_load(open("k8s/monitoring/prometheusrule.yaml"))
tests = yaml.safe_load(open("ops/prometheus/alerts.test.yml"))
runbook = open("docs/runbook.md").read()
sources = "".join(p.read_text() for d in ("services", "shared")
                  for p in pathlib.Path(d).rglob("*.rs"))
problems = []
if operator.get("kind") != "PrometheusRule" or operator["spec"]["groups"] != rules["groups"]:
    problems.append("k8s/monitoring/prometheusrule.yaml: groups differ from ops/prometheus/alerts.yml")
tested = {t["alertname"] for case in tests["tests"] for t in case.get("alert_rule_test", [])}
anchors = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
           for h in re.findall(r"^#+ (.+)$", runbook, re.M)}
labels = r"\{[^}]*\}|\b(?:by|without|on|ignoring)\s*\([^)]*\)"
words = {"sum", "rate", "increase", "deriv", "and", "or", "unless", "by", "max", "min", "avg",
         "histogram_quantile"}

def unexported(expr):
    """The metrics `expr` reads that no service exports."""
    expr = re.sub(labels, " ", expr)
    missing = []
    for metric in sorted(set(re.findall(r"\b[a-z][a-z0-9_]*_[a-z0-9_]+\b", expr)) - words):
        base = re.sub(r"_(count|sum|bucket)$", "", metric)
        if f'"{base}"' not in sources:
            missing.append(metric)
    return missing
for rule in (r for g in rules["groups"] for r in g["rules"]):
    name = rule["alert"]
    if name not in tested:
        problems.append(f"{name}: no unit test in alerts.test.yml")
    anchor = rule["annotations"].get("runbook_url", "").split("#")[-1]
    if anchor not in anchors:
        problems.append(f"{name}: runbook_url #{anchor} is not a heading of docs/runbook.md")
    for metric in unexported(rule["expr"]):
        problems.append(f"{name}: no service exports {metric}")
panels = 0
for path in sorted(pathlib.Path("ops/grafana/dashboards").glob("*.json")):
    dashboard = json.load(open(path))
    for panel in dashboard["panels"]:
        panels += 1
        if not panel.get("targets"):
            problems.append(f"{path.name}: panel {panel['title']!r} has no query")
        for target in panel.get("targets", []):
            for metric in unexported(target["expr"]):
                problems.append(f"{path.name}: panel {panel['title']!r} reads {metric}, which no service exports")
for p in problems:
    print("  " + p)
if problems:
    sys.exit(f"{len(problems)} problem(s) in the alerts or the dashboard")
count = sum(len(g["rules"]) for g in rules["groups"])
print(f"  ok: {count} alerts, each tested, in the PrometheusRule, with a runbook entry; "
      f"{panels} dashboard panels; every metric read is exported")
PY
