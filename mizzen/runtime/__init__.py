"""Mizzen runtime layer: what every controller is built from.

Informers keep read-only caches of the API; handlers map their events to
requests; a work queue with a rate limiter feeds workers that call
``reconcile(request) -> Result``; expectations, an event recorder and leader
election complete it, and a manager runs it all.  One concept per module::

    clock          Clock protocol, RealClock, FakeClock
    cache          read-only indexed store (copy_of before changing anything)
    informer       SharedInformer: list+watch, resume, relist on 410, bookmarks
    sharing        equal parts of cached objects held once (Sharer)
    handlers       enqueue_object / enqueue_owner / enqueue_mapped, predicates
    ratelimit      per-item exponential backoff, token bucket, max of both
    queue          WorkQueue: dedupe, one in flight per key, delayed adds
    reconcile      Request, Result, TerminalError, Reconciler
    controller     Controller: informers -> queue -> workers -> reconcile
    expectations   our own writes, until the cache has seen them
    events         EventRecorder: core/v1 Events, repeats aggregated
    leaderelection LeaderElector on a coordination.k8s.io Lease
    metrics        RuntimeMetrics (Prometheus, one registry per manager)
    health         /healthz, /readyz, /metrics without an HTTP framework
    manager        Manager: runs all of the above

The names below are the public surface; ``tests/runtime/test_public_api.py``
pins it.  Import from the modules or from here, whichever reads better.
"""

from mizzen.runtime.cache import Cache, CacheMutationError, copy_of, key_of
from mizzen.runtime.clock import Clock, FakeClock, RealClock
from mizzen.runtime.controller import Controller
from mizzen.runtime.events import NORMAL, WARNING, EventRecorder
from mizzen.runtime.expectations import Expectations, observe_owned
from mizzen.runtime.handlers import (
    EnqueueHandler,
    enqueue_mapped,
    enqueue_object,
    enqueue_owner,
    generation_changed,
    has_labels,
)
from mizzen.runtime.informer import FuncHandler, ResourceEventHandler, SharedInformer
from mizzen.runtime.leaderelection import LeaderElectionConfig, LeaderElector
from mizzen.runtime.manager import Manager, ManagerOptions
from mizzen.runtime.metrics import RuntimeMetrics
from mizzen.runtime.queue import QueueShutDown, WorkQueue
from mizzen.runtime.ratelimit import (
    ItemExponentialBackoff,
    MaxOf,
    RateLimiter,
    TokenBucket,
    default_controller_rate_limiter,
)
from mizzen.runtime.reconcile import Reconciler, Request, Result, TerminalError

__all__ = [
    "NORMAL",
    "WARNING",
    "Cache",
    "CacheMutationError",
    "Clock",
    "Controller",
    "EnqueueHandler",
    "EventRecorder",
    "Expectations",
    "FakeClock",
    "FuncHandler",
    "ItemExponentialBackoff",
    "LeaderElectionConfig",
    "LeaderElector",
    "Manager",
    "ManagerOptions",
    "MaxOf",
    "QueueShutDown",
    "RateLimiter",
    "RealClock",
    "Reconciler",
    "Request",
    "ResourceEventHandler",
    "Result",
    "RuntimeMetrics",
    "SharedInformer",
    "TerminalError",
    "TokenBucket",
    "WorkQueue",
    "copy_of",
    "default_controller_rate_limiter",
    "enqueue_mapped",
    "enqueue_object",
    "enqueue_owner",
    "generation_changed",
    "has_labels",
    "key_of",
    "observe_owned",
]
