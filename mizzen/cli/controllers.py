"""Which of Mizzen's own controllers a manager runs.

The CLI is the only layer that may import every controller package, so the
list lives here: ``mizzen up`` and ``mizzen controller`` both call
:func:`add_mizzen_controllers`, which is how a controller written later (the
OpenKruise-compatible workloads, rollouts, GitOps, fleet) gets run in both
the embedded control plane and on a real cluster.  The OpenKruise-compatible
workloads need their CRDs installed first (``mizzen.api.crds.all_crds()``).
"""

from __future__ import annotations

from collections.abc import Callable

from mizzen.runtime.manager import Manager
from mizzen.workloads.cloneset import add_cloneset_controller


def _cloneset(manager: Manager) -> None:
    add_cloneset_controller(manager)


# (name, function that registers the controller's informers and controllers on a manager)
CONTROLLERS: tuple[tuple[str, Callable[[Manager], None]], ...] = (
    ("cloneset", _cloneset),
)


def add_mizzen_controllers(manager: Manager) -> list[str]:
    """Register every Mizzen controller on ``manager``; returns their names."""
    for _, register in CONTROLLERS:
        register(manager)
    return [name for name, _ in CONTROLLERS]
