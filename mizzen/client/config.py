"""Where the API server is and how to prove who we are: kubeconfig, in-cluster, default.

:class:`ClientConfig` is plain data — server URL, CA, credentials — so a
test builds one from an in-process server's URL, CA and token in one line,
and nothing in the client reads files or the environment after it is made,
except through a ``token_provider`` the loader chose to install.

Loading follows kubectl (and client-go's ``clientcmd``):

* **files** — an explicit path; else every file in ``KUBECONFIG`` (``:``
  separated, missing ones skipped); else ``~/.kube/config``.  Merged as
  kubectl merges: for clusters, users and contexts the first file to define a
  name wins, and the first file that sets ``current-context`` chooses it.
  Relative file references resolve against the file that made them.
* **credentials** — ``token`` or ``tokenFile`` (re-read when it changes),
  ``client-certificate``/``client-key`` as ``-data`` or files,
  ``certificate-authority`` likewise, ``insecure-skip-tls-verify``, and
  ``exec`` credential plugins.  ``auth-provider`` (removed from kubectl for
  gcp and azure) and basic auth are refused with a :class:`ConfigError`
  naming the exec plugin to use instead.

The ``kubernetes`` package does the parts worth sharing with the official
client: ``FileOrData`` (a value given inline or as a file, relative to its
kubeconfig) and ``ExecProvider`` (running an exec plugin: arguments,
environment, ``KUBERNETES_EXEC_INFO``, ``provideClusterInfo``, checking the
ExecCredential it prints).  Its ``KubeConfigLoader`` is not used as a whole:
it swallows exec plugin failures into a log line (leaving an unauthenticated
client), writes inline keys to temporary files, lets the *last* file choose
the current context, and has no async refresh.  It is imported lazily, so a
client built from an explicit config never pays its 0.4 s import.

An exec plugin runs once while loading (its failure surfaces here, and a
plugin that answers with a client certificate must be known before the TLS
context is built); a token answer then becomes an
:class:`~mizzen.client.auth.ExecCredentials` provider that re-runs the
plugin when the token expires.  Certificates from a plugin are not rotated.

In-cluster config reads the service-account directory and
``KUBERNETES_SERVICE_HOST``/``_PORT``; its token is a
:class:`~mizzen.client.auth.FileToken`, re-read when the kubelet rotates it.
"""

from __future__ import annotations

import base64
import importlib
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mizzen.client.auth import ExecCredentials, FileToken
from mizzen.client.errors import ConfigError

__all__ = ["SERVICE_ACCOUNT_DIR", "ClientConfig", "load_default", "load_in_cluster",
           "load_kubeconfig"]

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass(frozen=True)
class ClientConfig:
    """How to reach one API server.  Secrets are left out of ``repr``."""

    server: str
    ca_data: bytes | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    client_cert: bytes | None = field(default=None, repr=False)
    client_key: bytes | None = field(default=None, repr=False)
    insecure: bool = False
    # Called before every request when set (exec plugins, rotating tokens); wins over token.
    token_provider: Callable[[], Awaitable[str]] | None = field(default=None, repr=False)
    # The context's (or pod's) namespace, for callers that need a home namespace.
    namespace: str = "default"


@dataclass
class _Entry:
    """One named cluster, user or context, with the directory of the file it came from."""

    value: dict[str, Any]
    base: Path


def load_kubeconfig(path: Path | None = None, context: str | None = None) -> ClientConfig:
    """Load a kubeconfig the way kubectl does (see the module docstring)."""
    if path is not None:
        path = Path(path)  # tolerate a str from callers without type checking
        if not path.exists():
            raise ConfigError(f"kubeconfig {path} does not exist")
        files = [path]
    else:
        env = os.environ.get("KUBECONFIG", "")
        candidates = [Path(p).expanduser() for p in env.split(os.pathsep) if p] or \
            [Path("~/.kube/config").expanduser()]
        files = [p for p in candidates if p.exists()]
        if not files:
            raise ConfigError("no kubeconfig found (looked in " +
                              ", ".join(str(p) for p in candidates) + ")")
    sections: dict[str, dict[str, _Entry]] = {"clusters": {}, "users": {}, "contexts": {}}
    current = ""
    for file in files:
        doc = _read_yaml(file)
        base = file.resolve().parent
        for section, key in (("clusters", "cluster"), ("users", "user"),
                             ("contexts", "context")):
            for item in doc.get(section) or []:
                if isinstance(item, dict) and item.get("name") and \
                        item["name"] not in sections[section]:
                    sections[section][item["name"]] = _Entry(item.get(key) or {}, base)
        current = current or str(doc.get("current-context") or "")
    name = context or current
    if not name:
        raise ConfigError("kubeconfig has no current-context and none was given")
    ctx = _named(sections, "contexts", name)
    cluster = _named(sections, "clusters", str(ctx.value.get("cluster") or ""))
    user_name = str(ctx.value.get("user") or "")
    user = sections["users"].get(user_name) if user_name else None
    return _build(cluster, user, str(ctx.value.get("namespace") or "default"))


def _read_yaml(file: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read kubeconfig {file}: {exc}") from exc
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"kubeconfig {file} is not a mapping")
    return doc


def _named(sections: dict[str, dict[str, _Entry]], section: str, name: str) -> _Entry:
    entry = sections[section].get(name)
    if entry is None:
        raise ConfigError(f"kubeconfig has no {section[:-1]} named {name!r}")
    return entry


def _build(cluster: _Entry, user: _Entry | None, namespace: str) -> ClientConfig:
    server = str(cluster.value.get("server") or "").rstrip("/")
    if not server:
        raise ConfigError("kubeconfig cluster has no server")
    ca = _file_or_data(cluster, "certificate-authority")
    insecure = bool(cluster.value.get("insecure-skip-tls-verify", False))
    token: str | None = None
    provider: Callable[[], Awaitable[str]] | None = None
    cert = key = None
    if user is not None:
        u = user.value
        cert = _file_or_data(user, "client-certificate")
        key = _file_or_data(user, "client-key")
        if u.get("token"):
            token = str(u["token"])
        elif u.get("tokenFile"):
            file_token = FileToken(user.base / str(u["tokenFile"]))
            token, provider = file_token.read(), file_token
        elif u.get("exec"):
            status, run = _run_exec(u["exec"], cluster, user.base)
            if status.get("token"):
                exec_creds = ExecCredentials(run)
                exec_creds.prime(status)
                token, provider = str(status["token"]), exec_creds
            elif status.get("clientCertificateData") and status.get("clientKeyData"):
                cert = str(status["clientCertificateData"]).encode()
                key = str(status["clientKeyData"]).encode()
            else:
                raise ConfigError("exec plugin returned neither a token nor a client "
                                  "certificate and key")
        elif u.get("auth-provider") and not cert:
            name = (u["auth-provider"] or {}).get("name", "?")
            raise ConfigError(f"auth-provider {name!r} is not supported; configure the "
                              f"provider's exec credential plugin instead")
        elif (u.get("username") or u.get("password")) and not cert:
            raise ConfigError("basic authentication is not supported by Kubernetes >= 1.19")
    return ClientConfig(server=server, ca_data=ca, token=token, client_cert=cert,
                        client_key=key, insecure=insecure, token_provider=provider,
                        namespace=namespace)


def _file_or_data(entry: _Entry, key: str) -> bytes | None:
    """``key-data`` (base64) or the file ``key`` names (relative to its kubeconfig)."""
    try:
        source = _kubernetes("kube_config").FileOrData(entry.value, key,
                                                       file_base_path=str(entry.base))
        data = source.as_data()
    except OSError as exc:
        raise ConfigError(f"cannot read {key} file: {exc}") from exc
    if not data:
        return None
    try:
        return base64.standard_b64decode(data)
    except ValueError as exc:
        raise ConfigError(f"{key}-data is not valid base64: {exc}") from exc


def _run_exec(spec: Any, cluster: _Entry, base: Path) -> tuple[
        dict[str, Any], Callable[[], dict[str, Any]]]:
    """Run the exec plugin once; return its status and a function that runs it again."""
    kube_config = _kubernetes("kube_config")
    config_exception = _kubernetes("config_exception").ConfigException

    if not isinstance(spec, dict):
        raise ConfigError("exec must be a mapping")

    def run() -> dict[str, Any]:
        try:
            provider = _kubernetes("exec_provider").ExecProvider(
                kube_config.ConfigNode("exec", spec), str(base),
                kube_config.ConfigNode("cluster", cluster.value))
            status = provider.run()
        except config_exception as exc:
            raise ConfigError(f"exec plugin {spec.get('command')!r}: {exc}") from exc
        except OSError as exc:
            raise ConfigError(f"exec plugin {spec.get('command')!r} could not run: "
                              f"{exc}") from exc
        if not isinstance(status, dict):
            raise ConfigError("exec plugin returned an ExecCredential without a status")
        return status

    return run(), run


def _kubernetes(module: str) -> Any:
    """A module of ``kubernetes.config``, imported on first use (it is untyped and slow)."""
    return importlib.import_module(f"kubernetes.config.{module}")


def load_in_cluster(*, root: Path = SERVICE_ACCOUNT_DIR,
                    environ: Mapping[str, str] | None = None) -> ClientConfig:
    """The pod's service account: token (re-read on rotation), CA and namespace."""
    env = os.environ if environ is None else environ
    host = env.get("KUBERNETES_SERVICE_HOST", "")
    port = env.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise ConfigError("not running in a cluster: KUBERNETES_SERVICE_HOST and "
                          "KUBERNETES_SERVICE_PORT must be set")
    if ":" in host:
        host = f"[{host}]"
    token = FileToken(root / "token")
    first_token = token.read()
    try:
        ca = (root / "ca.crt").read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the service-account CA: {exc}") from exc
    if not ca.strip():
        raise ConfigError(f"{root / 'ca.crt'} is empty")
    try:
        namespace = (root / "namespace").read_text(encoding="utf-8").strip() or "default"
    except OSError:
        namespace = "default"
    return ClientConfig(server=f"https://{host}:{port}", ca_data=ca, token=first_token,
                        token_provider=token, namespace=namespace)


def load_default() -> ClientConfig:
    """``KUBECONFIG`` if set, else in-cluster when in a pod, else ``~/.kube/config``.

    The order of controller-runtime's ``GetConfig``: an explicit ``KUBECONFIG``
    beats the pod's service account, which beats the home-directory file.
    """
    if os.environ.get("KUBECONFIG"):
        return load_kubeconfig()
    if os.environ.get("KUBERNETES_SERVICE_HOST") and (SERVICE_ACCOUNT_DIR / "token").exists():
        return load_in_cluster()
    return load_kubeconfig()
