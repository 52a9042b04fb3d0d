"""Build dist/flowreel-<version>.zip: one top-level `flowreel/` folder that installs both as a legacy
add-on (Blender 3.4+, via bl_info) and as an extension (Blender 4.2+, via blender_manifest.toml).

Usage: python scripts/build_addon.py [--out DIR]      (no bpy needed)
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import sys
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "flowreel"  # folder name inside the zip == extension id


def manifest_version(addon_dir: Path) -> str:
    text = (addon_dir / "blender_manifest.toml").read_text(encoding="utf-8")
    m = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    if not m:
        raise SystemExit("error: blender_manifest.toml has no version")
    return m.group(1)


def bl_info_version(addon_dir: Path) -> str:
    tree = ast.parse((addon_dir / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "bl_info" for t in node.targets):
            info = ast.literal_eval(node.value)
            return ".".join(str(v) for v in info["version"])
    raise SystemExit("error: addon/__init__.py has no bl_info")


def files_to_pack(repo: Path) -> list[tuple[Path, str]]:
    """(source, name in zip): the add-on's .py files + manifest, and the look templates."""
    addon_dir = repo / "addon"
    modules = sorted(p for p in addon_dir.rglob("*.py") if "__pycache__" not in p.parts)  # every subpackage
    out = [(p, f"{PACKAGE}/{p.relative_to(addon_dir).as_posix()}") for p in modules]
    out.append((addon_dir / "blender_manifest.toml", f"{PACKAGE}/blender_manifest.toml"))
    for p in sorted((repo / "blend_templates").glob("*.blend")):
        out.append((p, f"{PACKAGE}/blend_templates/{p.name}"))
    return out


def build(out_dir: Path, repo: Path = REPO) -> Path:
    addon_dir = repo / "addon"
    version = manifest_version(addon_dir)
    if bl_info_version(addon_dir) != version:
        raise SystemExit(f"error: bl_info version {bl_info_version(addon_dir)} != manifest version {version}")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{PACKAGE}-{version}.zip"
    with atomic_zip(target) as zf:
        for src, name in files_to_pack(repo):
            zf.write(src, name)
    return target


@contextmanager
def atomic_zip(target: Path):
    """A ZipFile written under a temporary name beside `target` and renamed onto it when complete; nothing is
    left behind when writing fails."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".zip", dir=target.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            yield zf
        os.chmod(tmp, 0o644)  # mkstemp's 0600 is no mode for a release file
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "dist", help="output folder (default: dist/)")
    args = ap.parse_args(argv)
    path = build(args.out)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
