"""One version number: addon/core/version.py, stamped into bl_info and the manifest, read by the wheel and the
trainer; and the add-on's check of a trainer's version and file format (jobs.trainer_source)."""

import shutil
import subprocess
import sys
import tomllib

import pytest
from conftest import REPO

from flowreel.addon.core import trajformat, version
from flowreel.addon.jobs import trainer_source
from flowreel.addon.jobs.trainer_source import Trainer, TrainerError

sys.path.insert(0, str(REPO / "scripts"))
import stamp_version  # noqa: E402

sys.path.pop(0)


def test_every_copy_of_the_version_agrees():
    from flowreel import addon, trainer

    assert stamp_version.declared() == version.VERSION == trainer.__version__
    assert ".".join(map(str, addon.bl_info["version"])) == version.VERSION
    manifest = tomllib.loads((REPO / "addon" / "blender_manifest.toml").read_text(encoding="utf-8"))
    assert manifest["version"] == version.VERSION
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in pyproject["project"] and pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "flowreel.addon.core.version.VERSION"}
    check = subprocess.run([sys.executable, str(REPO / "scripts" / "stamp_version.py"), "--check"],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr


def test_stamp_writes_the_new_version_and_check_names_the_stale_file(tmp_path):
    for rel in (stamp_version.VERSION_FILE, stamp_version.INIT, stamp_version.MANIFEST):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / rel, tmp_path / rel)
    vf = tmp_path / stamp_version.VERSION_FILE
    vf.write_text(vf.read_text().replace(f'VERSION = "{version.VERSION}"', 'VERSION = "2.3.4"'))
    assert set(stamp_version.stamped(tmp_path).values()) == {version.VERSION}
    assert stamp_version.stamp(tmp_path) == [str(stamp_version.INIT), str(stamp_version.MANIFEST)]
    assert stamp_version.stamped(tmp_path) == {str(stamp_version.INIT): "2.3.4", str(stamp_version.MANIFEST): "2.3.4"}
    assert '"version": (2, 3, 4)' in (tmp_path / stamp_version.INIT).read_text()
    assert stamp_version.stamp(tmp_path) == []  # nothing left to change
    vf.write_text(vf.read_text().replace('"2.3.4"', '"2.3"'))
    with pytest.raises(SystemExit, match="MAJOR.MINOR.PATCH"):
        stamp_version.stamp(tmp_path)


def test_versions_of_one_minor_release_are_compatible():
    assert version.parse("0.1.0") == (0, 1, 0) and version.parse("1.2.3rc1") == (1, 2, 3)
    assert version.parse("2.13.0+cpu") == (2, 13, 0)
    assert version.compatible("0.1.7", "0.1.0") and not version.compatible("0.2.0", "0.1.0")
    assert not version.compatible("1.1.0", "0.1.0") and not version.compatible("garbage", "0.1.0")


def fake_install(site, ver, fmt):
    """A trainer install in `site` as the full zip's wheels lay it out: flowreel/trainer, flowreel/addon/core."""
    core = site / "flowreel" / "addon" / "core"
    core.mkdir(parents=True)
    (site / "flowreel" / "trainer" / "cli").mkdir(parents=True)
    (site / "flowreel" / "trainer" / "__init__.py").write_text(f"__version__ = {ver!r}\n")
    (site / "flowreel" / "trainer" / "cli" / "__init__.py").write_text("def main():\n    return 0\n")
    (site / "flowreel" / "addon" / "__init__.py").write_text("")
    (core / "__init__.py").write_text("")
    (core / "trajformat.py").write_text(f"FORMAT = {fmt!r}\n")
    return site


def test_bundled_trainer_is_found_on_the_path_and_runs_with_this_python(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no `trainer` on PATH
    with pytest.raises(TrainerError) as info:
        trainer_source.choose("", paths=[str(tmp_path)])
    msg = str(info.value)
    assert "\n" not in msg and "full zip" in msg and "pip install flowreel`" not in msg
    site = fake_install(tmp_path / "site", version.VERSION, trajformat.FORMAT)
    t = trainer_source.choose("", paths=["", str(tmp_path / "nothing"), str(site)])
    assert t.kind == "bundled" and t.site == str(site) and t.argv[0] == sys.executable == t.python
    assert trainer_source.identity(t) == {"version": version.VERSION, "format": trajformat.FORMAT}
    assert trainer_source.check(t) is t
    # the preference wins over the bundled trainer; the bare default `trainer` means "find one"
    assert trainer_source.choose(f"{sys.executable} -m flowreel.trainer", paths=[str(site)]).kind == "set"
    assert trainer_source.choose("trainer", paths=[str(site)]).kind == "bundled"


@pytest.mark.parametrize(("ver", "fmt", "expect"), [
    ("0.9.0", trajformat.FORMAT, "is version 0.9.0, this add-on is " + version.VERSION),
    (version.VERSION, "flowreel.traj/9", "writes flowreel.traj/9; this add-on (version " + version.VERSION),
])  # fmt: skip
def test_a_trainer_of_another_release_is_one_line_naming_both(tmp_path, ver, fmt, expect):
    site = fake_install(tmp_path / "site", ver, fmt)
    t = trainer_source.choose("", paths=[str(site)])
    with pytest.raises(TrainerError) as info:
        trainer_source.check(t)
    msg = str(info.value)
    assert "\n" not in msg and expect in msg, msg


def test_the_venv_trainer_identifies_itself_with_version_format_and_device():
    t = trainer_source.choose(f"{sys.executable} -m flowreel.trainer")
    lines = trainer_source.summary(f"{sys.executable} -m flowreel.trainer", device=True)
    assert lines[0] == f"Trainer: set in the preferences: {sys.executable} -m flowreel.trainer"
    assert lines[1] == f"Version {version.VERSION} (writes {trajformat.FORMAT}); add-on {version.VERSION}"
    assert lines[2].startswith("Device: CPU (torch ") or lines[2].startswith("Device: CUDA (torch ")
    assert trainer_source.check(t) is t


def test_a_compiled_launcher_is_not_probed(tmp_path):
    exe = tmp_path / "trainer"
    exe.write_bytes(b"\x7fELF not a script")
    exe.chmod(0o755)
    t = trainer_source.choose(str(exe))
    assert t == Trainer("set", (str(exe),), "") and trainer_source.identity(t) == {}
    assert trainer_source.check(t) is t  # unknown: the fit itself reports what goes wrong


def test_preferences_show_which_trainer_runs_and_check_adds_version_and_device(addon_registered, monkeypatch):
    from flowreel.addon.ui import prefs

    bpy = addon_registered
    command = f"{sys.executable} -m flowreel.trainer"
    monkeypatch.setattr(prefs._Defaults, "trainer", command)
    monkeypatch.setattr(prefs, "_CHECKED", {})
    assert prefs.trainer_lines(command) == [f"Trainer: set in the preferences: {command}",
                                            "Check Trainer shows its version and device"]  # fmt: skip
    assert bpy.ops.flowreel.check_trainer() == {"FINISHED"}
    lines = prefs.trainer_lines(command)
    assert lines[1] == f"Version {version.VERSION} (writes {trajformat.FORMAT}); add-on {version.VERSION}"
    assert lines[2].startswith(("Device: CPU (torch ", "Device: CUDA (torch "))
