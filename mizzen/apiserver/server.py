"""The embedded API server: one object that owns storage, HTTP and background loops.

``ApiServer`` is what ``mizzen apiserver`` runs and what tests start
in-process (``async with ApiServer(ServerConfig(data_dir=tmp, port=0)) as s``).
It wires the pieces in dependency order — storage, store, watch hub,
registry, namespace lifecycle, HTTP — and nothing in it is global, so several
servers can run in one process (the local fleet will need that).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType

from aiohttp import web

from mizzen.apiserver.admission import Admission, ServiceResolver, dns_resolver
from mizzen.apiserver.conversion import Converter
from mizzen.apiserver.crds import CRD_RES, CustomResources, validate_crd
from mizzen.apiserver.deletion import Deleter
from mizzen.apiserver.gc import GarbageCollector
from mizzen.apiserver.http import App, VersionInfo
from mizzen.apiserver.metrics import ApiMetrics
from mizzen.apiserver.namespaces import NamespaceLifecycle
from mizzen.apiserver.objectmeta import utc_now
from mizzen.apiserver.openapi import OpenAPI
from mizzen.apiserver.registry import Registry
from mizzen.apiserver.resources import Catalogue, builtin_resources
from mizzen.apiserver.rest import ResourceHandler
from mizzen.apiserver.schema import SchemaSet
from mizzen.apiserver.security import Credentials, ensure_credentials, write_kubeconfig
from mizzen.apiserver.storage import Storage
from mizzen.apiserver.store import Store
from mizzen.apiserver.watch import WatchHub

log = logging.getLogger(__name__)


@dataclass
class ServerConfig:
    """How to run one API server."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 6443  # 0 picks a free port
    kubeconfig: Path | None = None  # default: data_dir / "kubeconfig"
    synchronous: str = "FULL"  # SQLite durability: FULL (power-safe) or NORMAL (crash-safe)
    watch_window: int = 50_000  # change-log events kept for watch resumption
    watch_buffer: int = 10_000  # events a slow watcher may lag before it is closed
    bookmark_interval: float = 60.0
    min_request_timeout: float = 1800.0
    extra_hosts: list[str] = field(default_factory=list)
    clock: Callable[[], datetime] = utc_now
    # How webhook clientConfig.service references resolve (tests map them to loopback).
    webhook_resolver: ServiceResolver = dns_resolver
    version: VersionInfo = field(default_factory=VersionInfo)


class ApiServer:
    """A Kubernetes-compatible API server on SQLite, served over HTTPS."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.catalogue = Catalogue(builtin_resources())
        self.schemas = SchemaSet()
        self.metrics = ApiMetrics()
        self.storage = Storage(config.data_dir / "state.db", config.synchronous)
        self.store = Store(self.storage, config.watch_window)
        self.hub = WatchHub(config.watch_buffer)
        self.registry = Registry(self.store, self.schemas, config.clock)
        self.admission = Admission(self.store, config.clock, resolver=config.webhook_resolver)
        self.registry.admission = self.admission
        self.deleter = Deleter(self.registry, gc_enabled=True)
        self.namespaces = NamespaceLifecycle(self.deleter, self.catalogue)
        self.gc = GarbageCollector(self.deleter, self.catalogue)
        self.custom = CustomResources(self.catalogue, self.deleter)
        self.custom.converter = Converter(config.webhook_resolver)
        self.registry.custom = self.custom
        self.registry.checks[CRD_RES] = validate_crd
        self.credentials: Credentials | None = None
        self.port = config.port
        self._runner: web.ServerRunner | None = None
        self._ready = False

    @property
    def url(self) -> str:
        host = self.config.host
        if ":" in host:
            host = f"[{host}]"
        return f"https://{host}:{self.port}"

    @property
    def kubeconfig_path(self) -> Path:
        return self.config.kubeconfig or self.config.data_dir / "kubeconfig"

    @property
    def token(self) -> str:
        assert self.credentials is not None
        return self.credentials.token

    @property
    def ca_pem(self) -> bytes:
        assert self.credentials is not None
        return self.credentials.ca_cert_pem

    async def start(self) -> None:
        cfg = self.config
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        hosts = [cfg.host, *cfg.extra_hosts]
        self.credentials = await loop.run_in_executor(None, ensure_credentials, cfg.data_dir,
                                                      hosts)
        await self.store.open()
        self.store.add_listener(self.custom.on_events)
        self.store.add_listener(self.hub.publish)
        self.store.add_listener(self.namespaces.on_events)
        self.store.add_listener(self.gc.on_events)
        self.store.add_commit_observer(
            lambda stats: self.metrics.observe_commit(stats.writes, stats.seconds))
        self.custom.start()  # first: the collectors below index custom objects too
        await self.namespaces.seed()
        self.namespaces.start()
        self.gc.start()
        resources = ResourceHandler(self.catalogue, self.registry, self.deleter, self.hub,
                                    cfg.bookmark_interval, cfg.min_request_timeout)
        resources.custom = self.custom
        openapi = OpenAPI(self.catalogue, self.schemas, custom_schema=self.custom.openapi_schema)
        app = App(self.catalogue, resources, openapi,
                  self.metrics, self.credentials.token, f"{cfg.host}:{cfg.port}",
                  lambda: self._ready, cfg.version).build()
        self._runner = web.ServerRunner(app, access_log=None, handle_signals=False,
                                        shutdown_timeout=1.0)
        await self._runner.setup()
        sock = _bind(cfg.host, cfg.port)
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock, ssl_context=self.credentials.ssl_context())
        await site.start()
        await loop.run_in_executor(None, write_kubeconfig, self.kubeconfig_path, self.url,
                                   self.credentials.ca_cert_pem, self.credentials.token)
        self._ready = True
        log.info("API server listening on %s (data in %s)", self.url, cfg.data_dir)

    async def stop(self) -> None:
        self._ready = False
        self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.namespaces.stop()
        await self.gc.stop()
        await self.admission.close()
        await self.custom.stop()
        await self.store.close()

    async def __aenter__(self) -> ApiServer:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock
