"""The reconcile vocabulary: Request keys, Result combination, and the pinned public API."""

from __future__ import annotations

import importlib

import pytest

import mizzen.runtime
from mizzen.runtime.reconcile import Request, Result


def test_request_keys_round_trip() -> None:
    namespaced = Request.of({"metadata": {"name": "web", "namespace": "prod"}})
    cluster = Request.of({"metadata": {"name": "node-1"}})
    assert (str(namespaced), str(cluster)) == ("prod/web", "node-1")
    assert Request.parse("prod/web") == namespaced
    assert Request.parse("node-1") == cluster
    assert sorted([Request("b", "x"), Request("a", "y")])[0] == Request("a", "y")


def test_result_soonest_takes_the_shortest_positive_delay() -> None:
    assert Result.soonest(Result(), Result(30), Result(5)) == Result(5)
    assert Result.soonest(Result(), Result()) == Result()
    assert Result.soonest() == Result()
    with pytest.raises(ValueError):
        Result(-1)


PUBLIC = {
    "NORMAL", "WARNING", "Cache", "CacheMutationError", "Clock", "Controller",
    "EnqueueHandler", "EventRecorder", "Expectations", "FakeClock", "FuncHandler",
    "ItemExponentialBackoff", "LeaderElectionConfig", "LeaderElector", "Manager",
    "ManagerOptions", "MaxOf", "QueueShutDown", "RateLimiter", "RealClock", "Reconciler",
    "Request", "ResourceEventHandler", "Result", "RuntimeMetrics", "SharedInformer",
    "TerminalError", "TokenBucket", "WorkQueue", "copy_of", "default_controller_rate_limiter",
    "enqueue_mapped", "enqueue_object", "enqueue_owner", "generation_changed", "has_labels",
    "key_of", "observe_owned",
}

MODULES = ("cache", "clock", "controller", "events", "expectations", "handlers", "health",
           "informer", "leaderelection", "manager", "metrics", "queue", "ratelimit",
           "reconcile")


def test_public_api_is_pinned() -> None:
    assert set(mizzen.runtime.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(mizzen.runtime, name) is not None


@pytest.mark.parametrize("module", MODULES)
def test_every_module_declares_its_exports_and_explains_its_shape(module: str) -> None:
    mod = importlib.import_module(f"mizzen.runtime.{module}")
    assert mod.__doc__ and len(mod.__doc__.splitlines()) >= 10
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.__all__ names missing {name}"
