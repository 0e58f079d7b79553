#!/usr/bin/env bash
# The newcomer's tour: `mizzen up` starts a whole control plane on this machine (API server,
# simulated nodes and kubelets, scheduler, Deployment/ReplicaSet controllers), and the real
# kubectl drives it exactly as it would a real cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mizzen-demo.XXXXXX")
LOG="$DATA_DIR/mizzen-up.log"
export KUBECONFIG="$DATA_DIR/kubeconfig"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

cleanup() {
  if [[ -n "${WATCH_PID:-}" ]]; then kill "$WATCH_PID" 2>/dev/null || true; fi
  if [[ -n "${UP_PID:-}" ]] && kill -0 "$UP_PID" 2>/dev/null; then
    kill -INT "$UP_PID" 2>/dev/null || true
    wait "$UP_PID" 2>/dev/null || true
  fi
  rm -rf "$DATA_DIR"
}
trap cleanup EXIT

if ! command -v kubectl >/dev/null 2>&1; then
  echo "kubectl is not on PATH; install it to run the demo (Mizzen itself does not need it)." >&2
  exit 1
fi

say "mizzen up: API server on SQLite + 3 simulated nodes + scheduler + kubelets + controllers"
.venv/bin/mizzen up --data-dir "$DATA_DIR" --port 0 --nodes 3 >"$LOG" 2>&1 &
UP_PID=$!
for _ in $(seq 1 400); do
  grep -q "control plane is up" "$LOG" 2>/dev/null && break
  kill -0 "$UP_PID" 2>/dev/null || { cat "$LOG"; exit 1; }
  sleep 0.05
done
cat "$LOG"
run kubectl wait --for=condition=Ready nodes --all --timeout=30s
run kubectl get nodes -L topology.kubernetes.io/zone

say "Create a Deployment: the scheduler spreads its pods over zones, kubelets start them"
run kubectl create deployment web --image=nginx:1.25 --replicas=3
run kubectl rollout status deployment/web --timeout=60s
run kubectl get pods -o wide

say "Scale it up"
run kubectl scale deployment/web --replicas=6
run kubectl rollout status deployment/web --timeout=60s
run kubectl get deployment web

say "Roll out a new image: a rolling update, new ReplicaSet up, old one down"
kubectl get pods -l app=web -w --output-watch-events >"$DATA_DIR/watch.txt" 2>&1 &
WATCH_PID=$!
for _ in $(seq 1 100); do  # the watch has listed the current pods: it is established
  [[ $(wc -l <"$DATA_DIR/watch.txt") -gt 6 ]] && break
  sleep 0.05
done
run kubectl set image deployment/web nginx=nginx:1.27
run kubectl rollout status deployment/web --timeout=60s
kill "$WATCH_PID" 2>/dev/null || true; wait "$WATCH_PID" 2>/dev/null || true; WATCH_PID=
echo "# What a watch on the pods saw (kubectl get pods -w --output-watch-events): the 6 current"
echo "# pods, then each new pod Pending -> Running while an old one goes Terminating -> gone"
cat "$DATA_DIR/watch.txt"
run kubectl get replicasets -o wide
run kubectl rollout history deployment/web

say "Changed our mind: roll back"
run kubectl rollout undo deployment/web
run kubectl rollout status deployment/web --timeout=60s
run kubectl get deployment web -o jsonpath='{.spec.template.spec.containers[0].image}{"\n"}'

say "Bad input gets a clear error and changes nothing"
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec: {containers: [{name: a, image: x}]}\n' > "$DATA_DIR/bad.yaml"
run kubectl create -f "$DATA_DIR/bad.yaml" || true

say "Delete it: garbage collection removes its ReplicaSets and pods"
run kubectl delete deployment web --wait
run kubectl get pods

say "CloneSet (apps.kruise.io, OpenKruise-compatible): upgrade in place — same pods, IPs, nodes"
cat > "$DATA_DIR/cloneset.yaml" <<'YAML'
apiVersion: apps.kruise.io/v1alpha1
kind: CloneSet
metadata:
  name: shop
spec:
  replicas: 4
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      containers:
      - name: app
        image: nginx:1.25
  updateStrategy:
    type: InPlaceIfPossible
    maxUnavailable: 1
    partition: 2
YAML
run kubectl apply -f "$DATA_DIR/cloneset.yaml"
run kubectl wait clone/shop --for=jsonpath='{.status.readyReplicas}'=4 --timeout=60s
run kubectl get pods -l app=shop -o wide
echo "# New image with partition 2: two pods stay on the old revision for now"
run kubectl patch clone shop --type merge -p '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"nginx:1.27"}]}}}}'
run kubectl wait clone/shop --for=jsonpath='{.status.updatedReadyReplicas}'=2 --timeout=60s
run kubectl get clone shop
echo "# Continue the rollout: partition 0 (kubectl speaks v1beta1, where it sits under rollingUpdate)"
run kubectl patch clone shop --type merge -p '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}'
run kubectl wait clone/shop --for=jsonpath='{.status.updatedReadyReplicas}'=4 --timeout=60s
run kubectl get pods -l app=shop -o custom-columns='POD:.metadata.name,IP:.status.podIP,NODE:.spec.nodeName,IMAGE:.spec.containers[0].image,RESTARTS:.status.containerStatuses[0].restartCount'
echo "# Same pod names, IPs and nodes as before: only the container restarted with the new image"

say "Stopping (state stays in SQLite: 'mizzen up --data-dir DIR' resumes it)"
kill -INT "$UP_PID"; wait "$UP_PID" || true
UP_PID=
echo "Demo finished."
