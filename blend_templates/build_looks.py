"""Build the look templates blend_templates/<look>.blend from the recipes in addon/looks/recipes.py.

    blender -b --factory-startup --python blend_templates/build_looks.py [-- --out DIR] [LOOK ...]
    python blend_templates/build_looks.py [--out DIR] [LOOK ...]          # with the bpy module

Commit templates built with the OLDEST supported Blender (Debian's 3.4): a .blend saved by a newer
Blender cannot be opened by an older one, while 5.0 reads 3.4 files. Building with bpy 5.0 is for
local experiments (pass --out elsewhere).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OLDEST = (3, 4)  # the oldest Blender the add-on supports (Debian 12's package): committed templates come from it

import bpy  # noqa: E402


def _load_looks():
    """The add-on's looks module, also in Blender's own Python, which knows neither the checkout nor the install."""
    import importlib
    import importlib.util

    spec = importlib.util.spec_from_file_location("_flowreel_bootstrap", HERE.parent / "addon" / "bootstrap.py")
    boot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(boot)
    package = boot.load_package(HERE.parent / "addon")
    return importlib.import_module(f"{package}.looks.recipes"), importlib.import_module(f"{package}.looks.templates")


looks, look_templates = _load_looks()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="build_looks", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="LOOK",
                        help=f"looks to build (default: all of {', '.join(looks.LOOKS)})")
    parser.add_argument("--out", default=None, help="output folder (default: blend_templates/)")
    parser.add_argument("--force", action="store_true",
                        help="write blend_templates/ even with a Blender newer than the oldest supported one")
    args = parser.parse_args(argv)
    if args.out is None:
        if tuple(bpy.app.version[:2]) > OLDEST and not args.force:
            print(f"build_looks: error: Blender {bpy.app.version_string} would write templates that Blender "
                  f"{OLDEST[0]}.{OLDEST[1]} cannot open; pass --out DIR (or --force to replace the committed ones)",
                  file=sys.stderr)
            return 2
        args.out = str(HERE)
    bad = [n for n in args.names if n not in looks.LOOKS]
    if bad:
        print(f"build_looks: error: unknown look {bad[0]!r}: choose from {', '.join(looks.LOOKS)}", file=sys.stderr)
        return 2
    bpy.ops.wm.read_factory_settings(use_empty=True)
    for name in args.names or list(looks.LOOKS):
        path = look_templates.write_template(name, Path(args.out) / f"{name}.blend")
        print(f"build_looks: wrote {path} (Blender {bpy.app.version_string})", flush=True)
    return 0


if __name__ == "__main__":
    if "--" in sys.argv:  # blender -b --python build_looks.py -- ARGS
        argv = sys.argv[sys.argv.index("--") + 1 :]
    elif Path(sys.argv[0]).name == Path(__file__).name:  # python build_looks.py ARGS (bpy module)
        argv = sys.argv[1:]
    else:  # blender's own arguments are not ours
        argv = []
    sys.exit(main(argv))
