"""Write Flowreel's one version (addon/core/version.py) where Blender reads it without running Python:
`bl_info["version"]` in addon/__init__.py and `version` in addon/blender_manifest.toml.

Usage: python scripts/stamp_version.py [--check]   (--check: change nothing, exit 1 naming what disagrees)
The wheel needs no stamp: pyproject.toml reads the version from the same module.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VERSION_FILE = Path("addon/core/version.py")
INIT = Path("addon/__init__.py")
MANIFEST = Path("addon/blender_manifest.toml")
_MANIFEST_VERSION = re.compile(r'^(version\s*=\s*")([^"]*)(")', re.MULTILINE)
_BL_INFO_VERSION = re.compile(r'("version"\s*:\s*)\(([^)]*)\)')


def declared(repo: Path = REPO) -> str:
    """VERSION of addon/core/version.py, read without importing it."""
    for node in ast.parse((repo / VERSION_FILE).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "VERSION" for t in node.targets):
            return ast.literal_eval(node.value)
    raise SystemExit(f"error: {VERSION_FILE} has no VERSION")


def numbers(version: str) -> tuple[int, int, int]:
    """bl_info takes three integers: '0.1.0' -> (0, 1, 0); Blender's manifest wants the same semver core."""
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version)
    if not m:
        raise SystemExit(f"error: version {version!r} is not MAJOR.MINOR.PATCH (bl_info and Blender's manifest "
                         "take only that)")  # fmt: skip
    return int(m[1]), int(m[2]), int(m[3])


def stamped(repo: Path = REPO) -> dict[str, str]:
    """The version each stamped file holds now: {'addon/__init__.py': '0.1.0', ...}."""
    out = {}
    m = _BL_INFO_VERSION.search((repo / INIT).read_text(encoding="utf-8"))
    out[str(INIT)] = ".".join(x.strip() for x in m[2].split(",") if x.strip()) if m else ""
    m = _MANIFEST_VERSION.search((repo / MANIFEST).read_text(encoding="utf-8"))
    out[str(MANIFEST)] = m[2] if m else ""
    return out


def stamp(repo: Path = REPO) -> list[str]:
    """Write the declared version into both files (only where it differs); returns the files changed."""
    version = declared(repo)
    nums = numbers(version)
    changed = []
    for rel, pattern, repl in ((INIT, _BL_INFO_VERSION, lambda m: f"{m[1]}({nums[0]}, {nums[1]}, {nums[2]})"),
                               (MANIFEST, _MANIFEST_VERSION, lambda m: f"{m[1]}{version}{m[3]}")):  # fmt: skip
        text = (repo / rel).read_text(encoding="utf-8")
        new, n = pattern.subn(repl, text, count=1)
        if n != 1:
            raise SystemExit(f"error: {rel}: no version to stamp")
        if new != text:
            (repo / rel).write_text(new, encoding="utf-8")
            changed.append(str(rel))
    return changed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check; exit 1 when a file disagrees")
    args = ap.parse_args(argv)
    version = declared()
    numbers(version)
    if args.check:
        wrong = {f: v for f, v in stamped().items() if v != version}
        for f, v in wrong.items():
            print(f"error: {f} says {v or 'nothing'}, {VERSION_FILE} says {version} (run scripts/stamp_version.py)",
                  file=sys.stderr)  # fmt: skip
        return 1 if wrong else 0
    for f in stamp():
        print(f"stamped {version} into {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
