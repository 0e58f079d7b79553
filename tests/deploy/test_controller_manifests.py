"""deploy/controller/mizzen-controller.yaml: valid Kubernetes, consistent with the CLI, and
RBAC that grants every request Mizzen's controllers really make.

The RBAC check runs what the Deployment runs — ``mizzen controller`` with leader election,
the webhook server registering itself, certificates in a Secret, ``--install-crds`` — on
its own counted client against the embedded API server, drives a CloneSet through create,
in-place update, recreate, scale and delete, and then holds every ``(verb, resource)``
that client sent against the manifest's rules.  A controller that starts using a new
resource fails this test until the manifest grants it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import typer.main
import yaml

from mizzen.apiserver.server import ApiServer
from mizzen.cli.controllers import add_mizzen_controllers
from mizzen.cli.crds import install_crds
from mizzen.cli.main import app
from mizzen.cli.webhooks import WebhookOptions, start_webhooks
from mizzen.client.client import Client
from mizzen.client.metrics import ClientMetrics
from mizzen.client.resources import NAMESPACES, PODS
from mizzen.cluster.config import ClusterConfig
from mizzen.cluster.setup import add_simulated_cluster
from mizzen.runtime.clock import RealClock
from mizzen.runtime.leaderelection import LeaderElectionConfig
from mizzen.runtime.manager import Manager, ManagerOptions
from mizzen.webhook import SecretCertStore, service_hosts
from mizzen.workloads.cloneset import CLONESETS
from tests.runtime.conftest import client_for
from tests.runtime.util import wait_for_async
from tests.workloads.cloneset.harness import NS, cloneset

Obj = dict[str, Any]
MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "controller" / \
    "mizzen-controller.yaml"
KUBERNETES = "1.32.0"
# API group of each resource the controllers may touch (RBAC names resources by group).
GROUPS = {
    "pods": "", "pods/status": "", "persistentvolumeclaims": "", "events": "", "secrets": "",
    "namespaces": "", "controllerrevisions": "apps", "clonesets": "apps.kruise.io",
    "clonesets/status": "apps.kruise.io", "clonesets/scale": "apps.kruise.io",
    "leases": "coordination.k8s.io",
    "customresourcedefinitions": "apiextensions.k8s.io",
    "validatingwebhookconfigurations": "admissionregistration.k8s.io",
    "mutatingwebhookconfigurations": "admissionregistration.k8s.io",
}


def documents() -> list[Obj]:
    return [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]


def one(kind: str) -> Obj:
    (found,) = [d for d in documents() if d["kind"] == kind]
    return found


def granted(verb: str, resource: str) -> bool:
    group = GROUPS[resource]
    return any(group in rule["apiGroups"] and resource in rule["resources"]
               and verb in rule["verbs"]
               for role in (one("ClusterRole"), one("Role")) for rule in role["rules"])


def controller_args() -> list[str]:
    (container,) = one("Deployment")["spec"]["template"]["spec"]["containers"]
    return list(container["args"])


def option(args: list[str], name: str) -> str:
    (value,) = [a.partition("=")[2] for a in args if a.startswith(f"{name}=")]
    return value


@pytest.mark.parametrize("doc", documents(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_every_document_is_valid_kubernetes(doc: Obj) -> None:
    kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def test_the_deployment_runs_what_the_cli_accepts_and_the_manifest_provides() -> None:
    args = controller_args()
    command = typer.main.get_command(app)
    sub = command.commands[args[0]]  # type: ignore[attr-defined]
    with sub.make_context("controller", args[1:]) as ctx:  # refuses an unknown option
        params = ctx.params
    namespace = one("Namespace")["metadata"]["name"]
    service = one("Service")
    assert params["leader_elect"] is True
    assert params["leader_elect_namespace"] == namespace == one("Role")["metadata"]["namespace"]
    assert params["webhook_service"] == (f"{namespace}/{service['metadata']['name']}:"
                                         f"{service['spec']['ports'][0]['port']}")
    pod = one("Deployment")["spec"]["template"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    ports = {p["name"]: p["containerPort"] for p in pod["spec"]["containers"][0]["ports"]}
    assert ports["webhook"] == params["webhook_port"] and ports["health"] == params["health_port"]
    assert params["health_host"] == params["webhook_host"] == "0.0.0.0"
    account = one("ServiceAccount")["metadata"]["name"]
    assert pod["spec"]["serviceAccountName"] == account
    for binding in (one("ClusterRoleBinding"), one("RoleBinding")):
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account,
                                        "namespace": namespace}]


@asynccontextmanager
async def simulated(server: ApiServer) -> AsyncIterator[Client]:
    """Nodes, kubelets and scheduler on a client of their own (not counted)."""
    async with client_for(server) as client:
        manager = Manager(client, RealClock())
        add_simulated_cluster(manager, ClusterConfig.with_nodes(2))
        async with manager:
            yield client


async def drive(client: Client) -> None:
    """A CloneSet with a claim template: created, updated in place, recreated, scaled down
    (pods and PVCs deleted), then deleted."""
    async def pods(image: str, count: int) -> bool:
        items = (await client.list(PODS, NS, label_selector="app=web"))["items"]
        live = [p for p in items if not p["metadata"].get("deletionTimestamp")]
        return len(live) == count and all(
            p["spec"]["containers"][0]["image"] == image
            and any(c["type"] == "Ready" and c["status"] == "True"
                    for c in p["status"].get("conditions") or ()) for p in live)

    claim = {"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    body = cloneset(replicas=3, policy="InPlaceIfPossible", max_unavailable=1,
                    volumeClaimTemplates=[claim])
    await client.create(CLONESETS, body, NS)
    await wait_for_async(lambda: pods("nginx:1.25", 3), timeout=30, what="3 pods")
    for image, env in (("nginx:1.26", None), ("nginx:1.26", [{"name": "A", "value": "1"}])):
        cs = await client.get(CLONESETS, "web", NS)
        tpl = cs["spec"]["template"]
        tpl["spec"]["containers"][0]["image"] = image
        if env is not None:  # not in place: recreated
            tpl["spec"]["containers"][0]["env"] = env
        await client.patch(CLONESETS, "web", {"spec": {"template": tpl}}, NS)

        async def rolled(want: str = image) -> bool:
            return await pods(want, 3)

        await wait_for_async(rolled, timeout=30, what=f"pods on {image}")
    await client.patch(CLONESETS, "web", {"spec": {"replicas": 1}}, NS)
    await wait_for_async(lambda: pods("nginx:1.26", 1), timeout=30, what="scaled to 1")
    await client.delete(CLONESETS, "web", NS)

    async def gone() -> bool:
        return not (await client.list(PODS, NS, label_selector="app=web"))["items"]

    await wait_for_async(gone, timeout=30, what="pods gone")


async def test_the_rules_grant_every_request_the_controllers_make(server: ApiServer,
                                                                   tmp_path: Path) -> None:
    args = controller_args()
    namespace = option(args, "--leader-elect-namespace")
    ns_name, _, rest = option(args, "--webhook-service").partition("/")
    metrics = ClientMetrics()
    async with client_for(server) as admin, simulated(server), \
            client_for(server, metrics=metrics) as controller:
        await admin.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                        "metadata": {"name": namespace}})
        await install_crds(controller)
        # The Secret path of the Deployment's --webhook-service mode ...
        await SecretCertStore(controller, ns_name).load_or_create(
            service_hosts(ns_name, rest.partition(":")[0]))
        # ... and a webhook the embedded server can call, registered the same way.
        hooks = await start_webhooks(controller, WebhookOptions(cert_dir=tmp_path / "wh"))
        election = LeaderElectionConfig("mizzen-controller-manager", namespace, "test",
                                        lease_duration=3.0, renew_deadline=2.0,
                                        retry_period=0.5)
        manager = Manager(controller, RealClock(), ManagerOptions(leader_election=election))
        add_mizzen_controllers(manager)
        try:
            async with manager:
                await drive(admin)
        finally:
            await hooks.stop()
    sent = sorted(metrics.counts())
    unknown = [r for _, r in sent if r not in GROUPS]
    assert not unknown, f"resources missing from GROUPS (and maybe from the manifest): {unknown}"
    denied = [(verb, res) for verb, res in sent if not granted(verb, res)]
    assert not denied, f"requests the manifest's RBAC would forbid: {denied}"
    # The run exercised what the rules are for.
    for needed in (("create", "pods"), ("delete", "pods"), ("patch", "pods/status"),
                   ("create", "controllerrevisions"), ("watch", "clonesets"),
                   ("create", "events"), ("create", "leases"), ("create", "secrets"),
                   ("create", "persistentvolumeclaims")):
        assert needed in sent, needed
