"""Every CustomResourceDefinition Mizzen serves, and a command that writes them as YAML.

Why shaped so: each workload package owns its CRD builder; this module is
the one list of them, so the API server's bootstrap, ``deploy/crds`` and
tests agree on what exists.  ``python -m mizzen.api.crds DIR`` writes one
file per CRD, named ``<group>_<plural>.yaml`` as controller-gen does; the
checked-in copies under ``deploy/crds`` are its output, and a test keeps
them equal.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from mizzen.api.cloneset.crd import clonesets_crd

__all__ = ["all_crds", "file_name", "main", "render", "write_all"]

Obj = dict[str, Any]


def all_crds() -> list[Obj]:
    """Every CRD, with ``strategy: None`` conversion."""
    return [clonesets_crd()]


def file_name(crd: Obj) -> str:
    """``apps.kruise.io_clonesets.yaml`` for the CloneSet CRD."""
    spec = crd["spec"]
    return f"{spec['group']}_{spec['names']['plural']}.yaml"


def render(crd: Obj) -> str:
    """A CRD as the YAML document written to disk (stable: same input, same text)."""
    return "---\n" + yaml.safe_dump(crd, sort_keys=False, default_flow_style=False, width=100)


def write_all(directory: Path) -> list[Path]:
    """Write every CRD into ``directory`` (created if missing); the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for crd in all_crds():
        path = directory / file_name(crd)
        path.write_text(render(crd))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m mizzen.api.crds DIR", file=sys.stderr)
        return 2
    for path in write_all(Path(args[0])):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
