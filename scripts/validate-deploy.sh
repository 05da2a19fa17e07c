#!/usr/bin/env bash
# Validates what CI cannot run: docker-compose.yml against the Compose Specification schema, and
# every object the Kubernetes overlays render against the Kubernetes 1.31 schemas (strict:
# unknown fields fail), plus the conventions the manifests promise (probes, limits, non-root,
# read-only root filesystem). Tools are pinned and kept in a cache outside the clone.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$RELANCE_ROOT"

K8S_VERSION=1.31.0
cache="${XDG_CACHE_HOME:-$HOME/.cache}/relance/validate"
venv="$cache/venv"
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
  log "installing validators (kubernetes-validate $K8S_VERSION, jsonschema) in $venv"
  command -v python3 >/dev/null || apt_install python3 python3-venv
  python3 -m venv "$venv" || { apt_install python3-venv; python3 -m venv "$venv"; }
  "$venv/bin/pip" install -q "kubernetes-validate==$K8S_VERSION" "jsonschema==4.23.0" "PyYAML==6.0.2"
fi
# The Compose Specification schema, as shipped in docker-compose 1.29.2's wheel (read, not run).
schema="$cache/compose_spec.json"
if [ ! -s "$schema" ]; then
  "$venv/bin/pip" download -q --no-deps -d "$cache/wheel" "docker-compose==1.29.2"
  "$venv/bin/python" - "$cache/wheel" "$schema" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/docker_compose-1.29.2-*.whl")[0]
open(sys.argv[2], "wb").write(zipfile.ZipFile(wheel).read("compose/config/compose_spec.json"))
PY
fi
# Rendering needs kubectl's built-in kustomize v4+ (kubectl >= 1.21); Debian 12's own
# kubernetes-client is older, so it is only a fallback and this says so if it is too old.
if ! command -v kubectl >/dev/null; then
  apt_install kubernetes-client
fi
kustomize_major=$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\).*/\1/p')
[ "${kustomize_major:-0}" -ge 4 ] \
  || die "kubectl with kustomize v4+ is needed to render k8s/ (found: $(kubectl version --client 2>&1 | head -1))"

log "docker-compose.yml against the Compose Specification"
"$venv/bin/python" - "$schema" docker-compose.yml <<'PY'
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
compose = yaml.safe_load(open(sys.argv[2]))
errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=lambda e: list(e.path))
for e in errors:
    print(f"  {'/'.join(map(str, e.path))}: {e.message}")
if errors:
    sys.exit(f"docker-compose.yml: {len(errors)} error(s)")
print(f"  ok: {len(compose['services'])} services")
PY

for overlay in k8s/overlays/*/; do
  name=$(basename "$overlay")
  rendered=$(mktemp)
  kubectl kustomize "$overlay" >"$rendered"
  log "k8s/overlays/$name: $(grep -c '^kind:' "$rendered") objects against Kubernetes $K8S_VERSION"
  "$venv/bin/kubernetes-validate" -k "$K8S_VERSION" --strict --quiet "$rendered"
  "$venv/bin/python" - "$rendered" <<'PY'
import sys, yaml
problems = []
for obj in yaml.safe_load_all(open(sys.argv[1])):
    if not obj or obj.get("kind") not in ("Deployment", "Job"):
        continue
    spec = obj["spec"]["template"]["spec"]
    name = f"{obj['kind']}/{obj['metadata']['name']}"
    if not spec.get("securityContext", {}).get("runAsNonRoot"):
        problems.append(f"{name}: not runAsNonRoot")
    for c in spec["containers"]:
        sc = c.get("securityContext", {})
        if not sc.get("readOnlyRootFilesystem") or sc.get("allowPrivilegeEscalation", True):
            problems.append(f"{name}/{c['name']}: root filesystem writable or privilege escalation allowed")
        if not c.get("resources", {}).get("limits") or not c.get("resources", {}).get("requests"):
            problems.append(f"{name}/{c['name']}: no resource requests and limits")
        if obj["kind"] == "Deployment" and not (c.get("livenessProbe") and c.get("readinessProbe")):
            problems.append(f"{name}/{c['name']}: no liveness and readiness probes")
for p in problems:
    print("  " + p)
if problems:
    sys.exit(f"{len(problems)} convention problem(s)")
print("  ok: probes, requests and limits, non-root, read-only root filesystem")
PY
  "$venv/bin/python" - "$rendered" <<'PY'
# The Ingress publishes only the public paths, and the NetworkPolicies let the ingress controller
# reach exactly the services those paths name (issue 31): metrics, health, the OpenAPI document
# and the CRM's directory stay inside the cluster.
import sys, yaml
objs = [o for o in yaml.safe_load_all(open(sys.argv[1])) if o]
PUBLIC = {
    ("/api/v1/marketing/email/ingest", "gateway"), ("/api/v1/marketing/email/webhooks", "gateway"),
    *((p, "inbox") for p in ["/api/v1/auth", "/api/v1/me", "/api/v1/users", "/api/v1/teams",
        "/api/v1/interactions", "/api/v1/marketing/leads-hot", "/api/v1/people",
        "/api/v1/organisations", "/api/v1/notifications", "/api/v1/stream", "/", "/login",
        "/auth", "/dashboard", "/people", "/organisations", "/leads", "/settings", "/assets"]),
}
INTERNAL = ["/metrics", "/healthz", "/readyz", "/openapi.json", "/api/v1/directory"]
problems, backends = [], set()
for ing in (o for o in objs if o["kind"] == "Ingress"):
    for rule in ing["spec"].get("rules", []):
        for p in rule["http"]["paths"]:
            path, svc = p["path"], p["backend"]["service"]["name"]
            backends.add(svc)
            if (path, svc) not in PUBLIC:
                problems.append(f"Ingress publishes {path} -> {svc}, not a public path")
            if path == "/" and p["pathType"] != "Exact":
                problems.append("Ingress publishes / as a Prefix: everything, metrics and directory included")
            for internal in INTERNAL:
                if internal.startswith(path.rstrip("/") + "/") and p["pathType"] == "Prefix" and path != "/":
                    problems.append(f"Ingress path {path} (Prefix) covers the internal {internal}")
deployments = {o["metadata"]["name"]: o["spec"]["template"]["metadata"]["labels"]
               for o in objs if o["kind"] == "Deployment"}
def selected(policy, labels):
    sel = policy["spec"]["podSelector"]
    if any(labels.get(k) != v for k, v in sel.get("matchLabels", {}).items()):
        return False
    for e in sel.get("matchExpressions", []):
        if e["operator"] == "In" and labels.get(e["key"]) not in e["values"]:
            return False
    return True
from_controller = [p for p in objs if p["kind"] == "NetworkPolicy" and any(
    f.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name") == "ingress-nginx"
    for rule in p["spec"].get("ingress", []) for f in rule.get("from", []))]
reachable = {name for name, labels in deployments.items() if any(selected(p, labels) for p in from_controller)}
if reachable != backends:
    problems.append(f"the ingress controller may reach {sorted(reachable)}, the Ingress routes to {sorted(backends)}")
for p in problems:
    print("  " + p)
if problems:
    sys.exit(f"{len(problems)} exposure problem(s)")
print(f"  ok: the Ingress publishes {len(backends)} services' public paths only, and the NetworkPolicies agree")
PY
  rm -f "$rendered"
done

scripts/check-observability.sh "$venv/bin/python"
