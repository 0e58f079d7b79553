"""CPU per write of the API server's registry, in process: the figure behind issue #2's rates.

Run with ``.venv/bin/python bench/write_cpu.py`` (``--help`` for options).

Why a second benchmark beside ``bench/apiserver.py``: the end-to-end run shares two cores
with its own client and with whatever else the machine does, so its rates and latencies
swing from run to run; the CPU the server spends per write does not, and that is what caps
the write rate, as one event loop serves every request.  This script measures only that,
without HTTP, TLS or a client process: it starts the embedded
:class:`~mizzen.apiserver.server.ApiServer` in this process (SQLite ``synchronous=NORMAL``
in a temporary directory, the garbage-collector settings ``mizzen apiserver`` uses), warms
it up, then sends ``--ops`` pod creates and then as many updates straight to the
:class:`~mizzen.apiserver.registry.Registry`, ``--concurrency`` at a time so that the group
commit batches them as it does under load.  Pods are ``bench/apiserver.py``'s (~1.2 KB of
JSON, decoded from bytes per request as the HTTP layer would); an update is a PUT of the
object as the create returned it with one label changed.

It reports, per write, the CPU of the whole process (the event loop plus SQLite's commit
thread) and of the event-loop thread alone, and the loop thread's share in the registry's
steps (defaults, validation, managedFields), timed with ``time.thread_time`` around them;
``--profile FILE`` writes a cProfile of the timed creates and updates instead.  CPU time is
used throughout, never wall time, so other processes on the machine barely move it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(REPO))

from bench.apiserver import UPDATE_LABEL, make_pod  # noqa: E402
from mizzen.apiserver.context import Context  # noqa: E402
from mizzen.apiserver.registry import Registry  # noqa: E402
from mizzen.apiserver.server import ApiServer, ServerConfig  # noqa: E402
from mizzen.apiserver.store import Entry  # noqa: E402

NS = "default"
WARM_UP = 256


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--ops", type=int, default=5000, help="creates, then updates (5,000)")
    p.add_argument("--concurrency", type=int, default=64, help="writes in flight (64)")
    p.add_argument("--profile", type=Path, help="write a cProfile of the timed phases here")
    return p.parse_args(argv)


class StepTimer:
    """Loop-thread CPU spent inside some registry methods, by step."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def wrap(self, owner: Any, method: str, step: str) -> None:
        inner: Callable[..., Any] = getattr(owner, method)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[step] = self.seconds.get(step, 0.0) + time.thread_time() - start
        setattr(owner, method, timed)


async def phase(label: str, bodies: list[bytes], write: Callable[[Any], Any], concurrency: int,
                steps: StepTimer, profile: cProfile.Profile | None) -> list[Entry]:
    steps.seconds.clear()
    out: list[Entry] = []
    cpu, loop_cpu = time.process_time(), time.thread_time()
    if profile is not None:
        profile.enable()
    for start in range(0, len(bodies), concurrency):
        chunk = bodies[start:start + concurrency]
        out += await asyncio.gather(*(write(orjson.loads(b)) for b in chunk))
    if profile is not None:
        profile.disable()
    n = len(bodies)
    cpu, loop_cpu = (time.process_time() - cpu) / n, (time.thread_time() - loop_cpu) / n
    detail = ", ".join(f"{k} {v / n * 1e6:,.0f}" for k, v in sorted(steps.seconds.items()))
    print(f"{label}: {cpu * 1e6:,.0f} µs CPU per write (event loop {loop_cpu * 1e6:,.0f} µs"
          + (f"; of which {detail})" if detail else ")"))
    return out


async def run(a: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="mizzen-cpu-") as tmp:
        config = ServerConfig(data_dir=Path(tmp), port=0, synchronous="NORMAL")
        async with ApiServer(config) as server:
            gc.collect()
            gc.set_threshold(50_000, 50, 100)  # as mizzen apiserver runs
            gc.freeze()
            reg: Registry = server.registry
            info = server.catalogue.get("", "v1", "pods")
            assert info is not None

            def ctx(verb: str, name: str | None = None) -> Context:
                return Context(info, NS, name, "", "bench", verb=verb)

            async def create(obj: Any) -> Entry:
                return await reg.create(ctx("create"), obj)

            async def update(obj: Any) -> Entry:
                return await reg.update(ctx("update", obj["metadata"]["name"]), obj)

            def edited(entries: list[Entry]) -> list[bytes]:
                bodies = []
                for e in entries:
                    obj = orjson.loads(e.raw)
                    obj["metadata"]["labels"][UPDATE_LABEL] = "1"
                    bodies.append(orjson.dumps(obj))
                return bodies

            steps = StepTimer()
            warm = [orjson.dumps(make_pod(NS, f"warm-{i}", i)) for i in range(WARM_UP)]
            created = await phase("warm-up creates", warm, create, a.concurrency, steps, None)
            await phase("warm-up updates", edited(created), update, a.concurrency, steps, None)
            steps.wrap(reg.defaulter, "apply", "defaults")
            steps.wrap(reg.validator, "validate", "validation")
            steps.wrap(reg, "_track", "managedFields")
            profile = cProfile.Profile() if a.profile else None
            bodies = [orjson.dumps(make_pod(NS, f"pod-{i}", i)) for i in range(a.ops)]
            created = await phase("pod creates", bodies, create, a.concurrency, steps, profile)
            print(f"  pod as stored: {len(created[-1].raw):,} bytes")
            await phase("pod updates (PUT)", edited(created), update, a.concurrency, steps,
                        profile)
            if profile is not None:
                profile.dump_stats(a.profile)
                print(f"profile written to {a.profile}")


def main(argv: Sequence[str] | None = None) -> int:
    asyncio.run(run(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
