"""The add-on's manifest and zip follow the Blender extensions platform's rules.

Rules and where they are written down:

- Required fields, `schema_version = "1.0.0"`, `type` "add-on" or "theme", `version` in semantic
  versioning, `blender_version_min` at least "4.2.0", `tagline` "one-line short description - cannot
  end with punctuation", `license` as SPDX identifiers with the "SPDX:" prefix:
  developer.blender.org/docs/features/extensions/schema/1.0.0/ (the manifest schema the manual's
  "Extensions > Getting started > Manifest" example links to).
- Tagline and each permission's reason at most 64 characters, ending in a letter, a digit or a
  closing bracket; permission keys only files, network, clipboard, camera, microphone; `id` a
  Python identifier: Blender's own validator, `blender_ext.py` in addons_core/bl_pkg/cli/ of every
  Blender since 4.2 (TERSE_DESCRIPTION_MAX_LENGTH = 64, pkg_manifest_validate_field_permissions,
  pkg_manifest_validate_field_tagline). The schema page lists the same permission keys.
- Licenses accepted by the platform: docs.blender.org/manual/en/latest/advanced/extensions/licenses.html
  (GPL-2.0/3.0-or-later, LGPL-2.1/3.0-or-later, and "other compatible licenses": BSD-1/2/3-Clause,
  BSL-1.0, MIT, MIT-0, MPL-2.0, Pixar, Zlib).
- File layout: an add-on extension is a .zip with the manifest and an `__init__.py` side by side,
  optionally all inside one folder: docs.blender.org/manual/en/latest/advanced/extensions/getting_started.html
  ("Extension files", "Add-on extension" and its note).

The same checks run on a broken manifest to show they can fail, and the zip also goes through
Blender's own `blender_ext.py validate` from the installed bpy wheel (4.2, 4.5 or 5.0 under
`make test-blender`).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from conftest import REPO, missing_dependency

sys.path.insert(0, str(REPO / "scripts"))
import build_addon  # noqa: E402

sys.path.pop(0)

REQUIRED = ("schema_version", "id", "version", "name", "tagline", "maintainer", "type", "blender_version_min",
            "license")
PERMISSION_KEYS = {"files", "network", "clipboard", "camera", "microphone"}
ACCEPTED_LICENSES = {f"SPDX:{x}" for x in (
    "GPL-2.0-or-later", "GPL-3.0-or-later", "LGPL-2.1-or-later", "LGPL-3.0-or-later",
    "BSD-1-Clause", "BSD-2-Clause", "BSD-3-Clause", "BSL-1.0", "MIT", "MIT-0", "MPL-2.0", "Pixar", "Zlib")}
TERSE_MAX = 64
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


def terse_error(text: object) -> str | None:
    """Blender's rule for one-line texts (tagline, permission reasons)."""
    if not isinstance(text, str) or not text.strip() or text != text.strip():
        return "must be a non-empty string without surrounding spaces"
    if len(text) > TERSE_MAX:
        return f"{len(text)} characters, at most {TERSE_MAX}"
    if any(ord(c) < 32 for c in text):
        return "control characters"
    if not (text[-1].isalnum() or text[-1] in ")]}"):
        return "must not end with punctuation"
    return None


def manifest_errors(m: dict) -> list[str]:
    errors = [f"missing {key}" for key in REQUIRED if key not in m]
    if m.get("schema_version") != "1.0.0":
        errors.append("schema_version must be 1.0.0")
    if m.get("type") not in ("add-on", "theme"):
        errors.append("type must be add-on or theme")
    ident = m.get("id", "")
    if not (isinstance(ident, str) and ident.isidentifier() and not ident.startswith("_") and not ident.endswith("_")):
        errors.append(f"id {ident!r} is not a Python identifier without leading/trailing underscore")
    if not SEMVER.match(str(m.get("version", ""))):
        errors.append(f"version {m.get('version')!r} is not semantic versioning")
    vmin = str(m.get("blender_version_min", ""))
    if not re.fullmatch(r"\d+\.\d+\.\d+", vmin) or tuple(map(int, vmin.split("."))) < (4, 2, 0):
        errors.append(f"blender_version_min {vmin!r} must be X.Y.Z and at least 4.2.0")
    if (e := terse_error(m.get("tagline"))) is not None:
        errors.append(f"tagline: {e}")
    licenses = m.get("license")
    if not isinstance(licenses, list) or not licenses:
        errors.append("license must be a non-empty list")
    else:
        errors += [f"license {x!r} is not one the platform accepts" for x in licenses if x not in ACCEPTED_LICENSES]
    perms = m.get("permissions", {})
    if not isinstance(perms, dict):
        errors.append("permissions must be a table of reasons")
    else:
        for key, reason in perms.items():
            if key not in PERMISSION_KEYS:
                errors.append(f"unknown permission {key!r}")
            if (e := terse_error(reason)) is not None:
                errors.append(f"permission {key}: {e}")
    return errors


def layout_errors(names: list[str]) -> list[str]:
    """Manifest and __init__.py side by side, at the root or in one top folder; no build leftovers."""
    tops = {n.split("/", 1)[0] for n in names}
    prefix = ""
    if "blender_manifest.toml" not in names:
        if len(tops) != 1:
            return [f"expected the files at the root or in one folder, found {sorted(tops)}"]
        prefix = f"{tops.pop()}/"
    errors = [f"missing {prefix}{f}" for f in ("blender_manifest.toml", "__init__.py") if prefix + f not in names]
    errors += [f"build leftover {n}" for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    return errors


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory) -> Path:
    return build_addon.build(tmp_path_factory.mktemp("dist"))


def test_manifest_follows_the_platform_rules(built_zip):
    with zipfile.ZipFile(built_zip) as zf:
        names = zf.namelist()
        manifest = tomllib.loads(zf.read("flowreel/blender_manifest.toml").decode())
    assert manifest_errors(manifest) == []
    assert layout_errors(names) == []
    assert manifest == tomllib.loads((REPO / "addon" / "blender_manifest.toml").read_text())
    assert built_zip.name == f"{manifest['id']}-{manifest['version']}.zip"
    assert names[0].split("/")[0] == manifest["id"]  # the folder is the extension's module name


def test_declared_permissions_cover_what_the_code_does():
    """The add-on reads .npz and writes caches (files); it must not reach the network undeclared."""
    manifest = tomllib.loads((REPO / "addon" / "blender_manifest.toml").read_text())
    perms = manifest.get("permissions", {})
    assert "files" in perms
    source = "\n".join(p.read_text() for p in (REPO / "addon").rglob("*.py"))
    if "network" not in perms:
        assert not re.search(r"^\s*(import|from)\s+(urllib|http|socket|requests)\b", source, re.MULTILINE)
    if "clipboard" not in perms:
        assert "clipboard" not in source


def test_the_checks_catch_a_broken_manifest():
    bad = {"schema_version": "1.0.0", "id": "flow-reel", "version": "1.0", "name": "x", "maintainer": "x",
           "type": "add-on", "blender_version_min": "3.6.0",
           "tagline": "Animated point-cloud films from normalizing-flow trajectories, rendered.",
           "license": ["SPDX:Proprietary"], "permissions": {"files": "Reads files.", "internet": "Downloads"}}
    text = "\n".join(manifest_errors(bad))
    for expected in ("id 'flow-reel'", "version '1.0'", "blender_version_min", "tagline: 72 characters",
                     "SPDX:Proprietary", "permission files: must not end with punctuation", "unknown permission"):
        assert expected in text
    assert layout_errors(["a/__init__.py", "b/blender_manifest.toml"])
    assert layout_errors(["flowreel/blender_manifest.toml", "flowreel/x.py", "flowreel/__pycache__/x.pyc"]) == [
        "missing flowreel/__init__.py", "build leftover flowreel/__pycache__/x.pyc"]


def _blender_validator() -> Path | None:
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.origin:
        return None
    found = sorted(Path(spec.origin).parent.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    return found[0] if found else None


def test_blenders_own_validator_accepts_the_zip(built_zip, tmp_path):
    tool = _blender_validator()
    if tool is None:
        missing_dependency("a bpy wheel with addons_core/bl_pkg/cli/blender_ext.py")  # fails under CI=true
    ok = subprocess.run([sys.executable, str(tool), "validate", str(built_zip)], capture_output=True, text=True,
                        timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # And it rejects what the rules above reject: a tagline ending in a full stop.
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(built_zip) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("blender_manifest.toml"):
                data = re.sub(rb'^tagline = "(.*)"$', rb'tagline = "\1."', data, flags=re.MULTILINE)
            dst.writestr(item, data)
    bad = subprocess.run([sys.executable, str(tool), "validate", str(broken)], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode != 0 and "punctuation" in (bad.stdout + bad.stderr)
