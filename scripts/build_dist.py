"""Build every release artefact into dist/: the `flowreel` wheel and sdist, the light add-on zip, and one full
Blender extension zip per platform that carries the trainer and all its dependency wheels.

    python scripts/build_dist.py [--out dist] [--platform linux-x64 ...] [--cache .dist-cache]
                                 [--torch linux-x64=torch==2.13.0+cpu] [--pip-arg=--extra-index-url=URL]
                                 [--no-full] [--no-validate]

A full zip, `flowreel-<version>-full-<platform>.zip`, is the light add-on plus `wheels/*.whl` listed in its
manifest (`wheels = [...]`, `platforms = ["<platform>"]`): Blender installs them into the extension's
site-packages, and the add-on runs the trainer from there with Blender's own Python (addon/jobs/trainer_source.py).
The wheels are fetched with `pip download --platform ... --only-binary=:all: --python-version 3.11` into
`<cache>/<platform>/` once; later builds reuse them. torch must be a CPU build: on PyPI that is the Windows and
macOS wheel, while PyPI's Linux wheel is the CUDA build (with gigabytes of nvidia-* wheels), so Linux takes
`torch==<v>+cpu` from wherever pip finds it (PyTorch's CPU index, `--pip-arg=--extra-index-url=...`, or a
local --find-links folder). Every zip passes Blender's own `blender_ext.py validate`.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_addon  # noqa: E402
import stamp_version  # noqa: E402

sys.path.pop(0)

PYTHON_VERSION = "3.11"  # Blender 4.2 - 5.0 run Python 3.11; the wheels must be built for it


def _manylinux(arch: str, newest: int = 28) -> list[str]:
    """pip takes only the tags it is given: glibc 2.28 (Blender's own floor since 4.2) and every older one."""
    legacy = {"x86_64": ["manylinux2014", "manylinux2010", "manylinux1"], "aarch64": ["manylinux2014"]}[arch]
    return [f"manylinux_2_{m}_{arch}" for m in range(newest, 16, -1)] + [f"{tag}_{arch}" for tag in legacy]


def _macos(arch: str, newest: int = 14, oldest: int = 11) -> list[str]:
    """macOS 14 and older (torch's arm64 wheels need 14), the arch's own and universal2 wheels."""
    versions = [f"{v}_0" for v in range(newest, oldest - 1, -1)] + (["10_9"] if arch == "x86_64" else [])
    return [f"macosx_{v}_{a}" for v in versions for a in (arch, "universal2")]


# Blender's platform names -> pip's platform tags
PLATFORM_TAGS = {
    "linux-x64": _manylinux("x86_64"),
    "windows-x64": ["win_amd64"],
    "macos-arm64": _macos("arm64"),
    "macos-x64": _macos("x86_64"),  # torch stopped Intel-Mac wheels after 2.2: builds only with an old torch
    "windows-arm64": ["win_arm64"],
    "linux-arm64": _manylinux("aarch64"),
}
DEFAULT_PLATFORMS = ("linux-x64", "windows-x64", "macos-arm64")
TORCH_VERSION = "2.13.0"
# The CPU build of torch per platform (see the module's doc); --torch PLATFORM=SPEC overrides one.
DEFAULT_TORCH = {"linux-x64": f"torch=={TORCH_VERSION}+cpu", "linux-arm64": f"torch=={TORCH_VERSION}"}
RESOLVED = "resolved.txt"  # in <cache>/<platform>/: the wheel set the last build chose
_SAVED = re.compile(r"^\s*(?:Saved|File was already downloaded) (.+\.whl)\s*$", re.MULTILINE)


class DistError(Exception):
    """A step of the build failed; one line for the user."""


@dataclass
class Built:
    path: Path
    kind: str  # "wheel", "sdist", "light", "full"
    platform: str = ""


def run(argv: list[str], what: str, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-12:]
        raise DistError(f"{what} failed (exit {proc.returncode}):\n  " + "\n  ".join(tail))
    return proc


def python_dists(out: Path, python: str = sys.executable) -> list[Built]:
    """The wheel and sdist of `flowreel`, built without isolation (this Python's setuptools, offline)."""
    for old in [*out.glob("flowreel-*.whl"), *out.glob("flowreel-*.tar.gz")]:
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="flowreel-build-") as tmp:
        run([python, "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir", tmp, str(REPO)],
            "python -m build")  # fmt: skip
        built = []
        for p in sorted(Path(tmp).iterdir()):
            target = out / p.name
            shutil.move(str(p), target)
            built.append(Built(target, "wheel" if p.suffix == ".whl" else "sdist"))
    return built


def twine_check(paths: list[Path], python: str = sys.executable) -> str:
    return run([python, "-m", "twine", "check", "--strict", *map(str, paths)], "twine check").stdout


# The environment markers of each platform's Blender Python. pip download evaluates a wheel's markers on the
# machine it runs on (a Linux box would fetch torch's nvidia-* wheels for Windows), so the wheels' dependencies
# are followed here, against these, and each round is fetched with --no-deps.
MARKER_ENV = {
    "linux": {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"},
    "windows": {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"},
    "macos": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix"},
}
MACHINE = {"x64": {"linux": "x86_64", "windows": "AMD64", "macos": "x86_64"},
           "arm64": {"linux": "aarch64", "windows": "ARM64", "macos": "arm64"}}  # fmt: skip


def marker_env(platform: str) -> dict[str, str]:
    system, _, arch = platform.partition("-")
    return {**MARKER_ENV[system], "platform_machine": MACHINE[arch][system], "python_version": PYTHON_VERSION,
            "python_full_version": PYTHON_VERSION + ".9", "implementation_name": "cpython",
            "platform_python_implementation": "CPython", "extra": ""}  # fmt: skip


def wheel_requirements(wheel: Path, env: dict[str, str]) -> list:
    """The wheel's Requires-Dist that apply on `env` (no extras)."""
    from email.parser import Parser

    from packaging.requirements import Requirement

    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
        msg = Parser().parsestr(zf.read(meta).decode("utf-8"))
    reqs = [Requirement(r) for r in msg.get_all("Requires-Dist") or []]
    return [r for r in reqs if r.marker is None or r.marker.evaluate(env)]


def fetch_wheels(platform: str, wheel: Path, cache: Path, torch_spec: str, pip_args: list[str],
                 python: str = sys.executable) -> list[Path]:
    """Every wheel the trainer needs on `platform` for Blender's Python, in `cache/<platform>/` (kept: a
    second build downloads nothing). Follows the dependencies itself (see MARKER_ENV); returns the set."""
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name, parse_wheel_filename

    if platform not in PLATFORM_TAGS:
        raise DistError(f"unknown platform {platform!r} (known: {', '.join(PLATFORM_TAGS)})")
    env = marker_env(platform)
    dest = cache / platform
    dest.mkdir(parents=True, exist_ok=True)
    for stale in dest.glob("flowreel-*.whl"):  # pip would keep an old build of ours of the same name
        stale.unlink()
    base = [python, "-m", "pip", "download", "--no-deps", "--dest", str(dest), "--only-binary=:all:",
            "--python-version", PYTHON_VERSION, "--implementation", "cp", "--progress-bar", "off",
            "--disable-pip-version-check"]  # fmt: skip
    for tag in PLATFORM_TAGS[platform]:
        base += ["--platform", tag]
    wanted: dict[str, SpecifierSet] = {}
    got: dict[str, Path] = {}
    torch = Requirement(torch_spec)
    pending = [str(wheel), torch_spec]
    for _round in range(20):
        if not pending:
            wheels = sorted(got.values())
            # what this resolution chose, for tests and re-packing without pip (the folder may hold older wheels)
            (dest / RESOLVED).write_text("".join(f"{w.name}\n" for w in wheels), encoding="utf-8")
            return wheels
        out = run([*base, *pip_args, *pending], f"pip download for {platform}").stdout
        for name in _SAVED.findall(out):
            path = dest / Path(name.strip()).name
            dist, version, _b, _t = parse_wheel_filename(path.name)
            got[dist] = path
            for req in wheel_requirements(path, env):
                key = canonicalize_name(req.name)
                spec = torch.specifier if key == "torch" else req.specifier
                wanted[key] = wanted.get(key, SpecifierSet()) & spec
        pending = []
        for key, spec in sorted(wanted.items()):
            have = got.get(key)
            if have is None or not spec.contains(parse_wheel_filename(have.name)[1], prereleases=True):
                pending.append(f"{key}{spec}")
    raise DistError(f"the dependencies of {platform} did not settle: {pending}")


def cached_wheels(platform: str, cache: Path, wheel: Path) -> list[Path]:
    """The wheel set of the last fetch for `platform`, with our wheel replaced by `wheel` (a fresh build);
    DistError when the cache has none (run `make dist-cache` or scripts/build_dist.py once)."""
    listing = cache / platform / RESOLVED
    if not listing.is_file():
        raise DistError(f"no wheel cache for {platform} in {cache} (make dist-cache)")
    names = [n for n in listing.read_text(encoding="utf-8").split() if n]
    missing = [n for n in names if not (cache / platform / n).is_file()]
    if missing:
        raise DistError(f"the wheel cache for {platform} lacks {', '.join(missing)} (make dist-cache)")
    return sorted([wheel, *(cache / platform / n for n in names if not n.startswith("flowreel-"))])


def full_manifest(text: str, platform: str, wheels: list[str]) -> str:
    """The light manifest with `platforms` and `wheels` added as top-level keys (before the first table)."""
    listing = "".join(f'  "./wheels/{w}",\n' for w in wheels)
    extra = (f'\n# The full build for one platform: the trainer and its dependencies (scripts/build_dist.py)\n'
             f'platforms = ["{platform}"]\nwheels = [\n{listing}]\n')  # fmt: skip
    m = re.search(r"^\[", text, re.MULTILINE)
    at = m.start() if m else len(text)
    return text[:at].rstrip("\n") + "\n" + extra + "\n" + text[at:]


def full_zip(out: Path, platform: str, wheels: list[Path], repo: Path = REPO) -> Path:
    """flowreel-<version>-full-<platform>.zip: the add-on's files, the wheels (stored: already compressed)."""
    version = build_addon.manifest_version(repo / "addon")
    target = out / f"{build_addon.PACKAGE}-{version}-full-{platform}.zip"
    manifest = full_manifest((repo / "addon" / "blender_manifest.toml").read_text(encoding="utf-8"), platform,
                             [w.name for w in wheels])  # fmt: skip
    with build_addon.atomic_zip(target) as zf:
        for src, name in build_addon.files_to_pack(repo):
            if name.endswith("/blender_manifest.toml"):
                zf.writestr(name, manifest)
            else:
                zf.write(src, name)
        for w in wheels:
            zf.write(w, f"{build_addon.PACKAGE}/wheels/{w.name}", compress_type=zipfile.ZIP_STORED)
    return target


def blender_ext_script() -> Path:
    """Blender's own extension tool, shipped in the bpy module's scripts (found without importing bpy)."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        raise DistError("the bpy module is not installed: it carries Blender's blender_ext.py (pip install bpy)")
    root = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(root.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not found:
        raise DistError(f"no blender_ext.py under {root}")
    return found[-1]


def validate(zip_path: Path, python: str = sys.executable) -> str:
    """Blender's `blender_ext.py validate` on the zip; DistError with its message when it refuses."""
    proc = run([python, str(blender_ext_script()), "validate", str(zip_path)],
               f"blender_ext.py validate {zip_path.name}")
    return proc.stdout.strip()


def parse_torch(items: list[str]) -> dict[str, str]:
    out = dict(DEFAULT_TORCH)
    for item in items:
        platform, sep, spec = item.partition("=")
        if not sep or not spec.strip():
            raise DistError(f"--torch wants PLATFORM=SPEC (e.g. linux-x64=torch==2.13.0+cpu), got {item!r}")
        out[platform.strip()] = spec.strip()
    return out


def build_all(out: Path, platforms: list[str], cache: Path, torch: dict[str, str], pip_args: list[str],
              full: bool = True, check: bool = True) -> list[Built]:
    wrong = {f: v for f, v in stamp_version.stamped().items() if v != stamp_version.declared()}
    if wrong:
        raise DistError(f"versions disagree ({wrong}, declared {stamp_version.declared()}): "
                        "run scripts/stamp_version.py")  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    built = python_dists(out)
    if check:
        twine_check([b.path for b in built])
    built.append(Built(build_addon.build(out), "light"))
    if full:
        wheel = next(b.path for b in built if b.kind == "wheel")
        for platform in platforms:
            spec = torch.get(platform, f"torch=={TORCH_VERSION}")
            wheels = fetch_wheels(platform, wheel, cache, spec, pip_args)
            built.append(Built(full_zip(out, platform, wheels), "full", platform))
    if check:
        for b in built:
            if b.kind in ("light", "full"):
                validate(b.path)
    return built


def fill_cache(platforms: list[str], cache: Path, torch: dict[str, str], pip_args: list[str]) -> int:
    """Fetch each platform's wheel set into the cache (our wheel built into a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="flowreel-wheel-") as tmp:
        wheel = next(b.path for b in python_dists(Path(tmp)) if b.kind == "wheel")
        for platform in platforms:
            wheels = fetch_wheels(platform, wheel, cache, torch.get(platform, f"torch=={TORCH_VERSION}"), pip_args)
            size = sum(w.stat().st_size for w in wheels) / 1e6
            print(f"{cache / platform}: {len(wheels)} wheels, {size:.0f} MB")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "dist", help="output folder (default: dist/)")
    ap.add_argument("--platform", action="append", default=[], metavar="NAME",
                    help=f"a full zip for this Blender platform (repeat; default: {' '.join(DEFAULT_PLATFORMS)}; "
                         f"known: {', '.join(PLATFORM_TAGS)})")  # fmt: skip
    ap.add_argument("--cache", type=Path, default=REPO / ".dist-cache", help="wheel cache (default: .dist-cache/)")
    ap.add_argument("--torch", action="append", default=[], metavar="PLATFORM=SPEC",
                    help=f"torch requirement for a platform (default: {DEFAULT_TORCH}, else torch=={TORCH_VERSION})")
    ap.add_argument("--pip-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for pip download, e.g. --pip-arg=--extra-index-url=https://download."
                         "pytorch.org/whl/cpu (repeat)")  # fmt: skip
    ap.add_argument("--no-full", action="store_true", help="only the wheel, sdist and light zip")
    ap.add_argument("--cache-only", action="store_true",
                    help="only fill the wheel cache of each --platform (what the tests' full zip is made from)")
    ap.add_argument("--no-validate", action="store_true", help="skip twine check and blender_ext.py validate")
    args = ap.parse_args(argv)
    try:
        if args.cache_only:
            return fill_cache(args.platform or list(DEFAULT_PLATFORMS), args.cache, parse_torch(args.torch),
                              args.pip_arg)  # fmt: skip
        built = build_all(args.out, args.platform or list(DEFAULT_PLATFORMS), args.cache, parse_torch(args.torch),
                          args.pip_arg, full=not args.no_full, check=not args.no_validate)  # fmt: skip
    except DistError as e:
        print(f"build_dist: error: {e}", file=sys.stderr)
        return 1
    for b in built:
        print(f"{b.path}  {b.path.stat().st_size / 1e6:.1f} MB  ({b.kind}{' ' + b.platform if b.platform else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
