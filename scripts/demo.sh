#!/usr/bin/env bash
# The newcomer's tour: start Mizzen's embedded API server and drive it with the real kubectl.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mizzen-demo.XXXXXX")
KUBECONFIG_FILE="$DATA_DIR/kubeconfig"
LOG="$DATA_DIR/apiserver.log"
export KUBECONFIG="$KUBECONFIG_FILE"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

cleanup() {
  if [[ -n "${SERVER_PID:-}" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -INT "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$DATA_DIR"
}
trap cleanup EXIT

if ! command -v kubectl >/dev/null 2>&1; then
  echo "kubectl is not on PATH; install it to run the demo (the API server itself does not need it)." >&2
  exit 1
fi

say "Starting the Mizzen API server (SQLite in $DATA_DIR, HTTPS on a free loopback port)"
.venv/bin/mizzen apiserver --data-dir "$DATA_DIR" --port 0 >"$LOG" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 200); do
  [[ -s "$KUBECONFIG_FILE" ]] && grep -q "listening" "$LOG" && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$LOG"; exit 1; }
  sleep 0.05
done
cat "$LOG"

say "kubectl talks to it like any cluster: version, API resources, namespaces"
run kubectl version
run kubectl api-resources --api-group=apps
run kubectl get namespaces

say "Create a Deployment and a ConfigMap from manifests"
cat <<'YAML' | tee "$DATA_DIR/app.yaml"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {greeting: hello}
YAML
run kubectl apply -f "$DATA_DIR/app.yaml"
run kubectl get deployments,configmaps -o wide

say "Scale, change the image (strategic merge), label, and watch the resourceVersion move"
run kubectl scale deployment/web --replicas=5
run kubectl set image deployment/web nginx=nginx:1.27
run kubectl label deployment web tier=frontend
run kubectl get deployment web -o jsonpath='{.spec.replicas} replicas, image {.spec.template.spec.containers[0].image}, generation {.metadata.generation}, resourceVersion {.metadata.resourceVersion}{"\n"}'

say "Bad input gets a clear error (and changes nothing)"
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec: {containers: [{name: a, image: x}]}\n' > "$DATA_DIR/bad.yaml"
run kubectl create -f "$DATA_DIR/bad.yaml" || true

say "Delete and wait; the change log lets watchers resume"
run kubectl delete configmap web-config --wait
run kubectl get configmaps

say "Stopping the server (state stays in SQLite and survives restarts)"
kill -INT "$SERVER_PID"; wait "$SERVER_PID" || true
SERVER_PID=
echo "Demo finished."
