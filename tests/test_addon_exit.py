"""The bpy module exits cleanly after `import addon; addon.register()`, with or without unregister().

docs/addon.md tells Python users to do exactly that. Without the add-on's exit hook, bpy 4.5 hangs
for ever at interpreter exit (a futex wait after "Not freed memory blocks") and bpy 4.2 dies with
SIGSEGV (exit 139), even after unregister(). Each case runs in a fresh interpreter with a timeout.
Under `make test-blender` this file runs once per Blender version (4.2, 4.5, 5.0).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from conftest import REPO, require_module

CASES = {
    "register-exit": "addon.register()",
    "register-unregister-exit": "addon.register(); addon.unregister()",
    "twice-then-exit": "addon.register(); addon.unregister(); addon.register()",
    "register-exit-code-3": "addon.register(); sys.exit(3)",
    "register-exception": "addon.register(); raise RuntimeError('boom')",
}
EXPECTED_RC = {"register-exit-code-3": 3, "register-exception": 1}


@pytest.mark.parametrize("case", CASES)
def test_register_then_exit_is_clean(case):
    bpy = require_module("bpy")
    code = textwrap.dedent(f"""
        import sys
        import bpy
        from flowreel import addon
        {CASES[case]}
        print("flowreel-exit: body done", flush=True)
    """)
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    except subprocess.TimeoutExpired:
        pytest.fail(f"bpy {bpy.app.version_string}: {case} hung at interpreter exit")
    want = EXPECTED_RC.get(case, 0)
    assert r.returncode == want, f"bpy {bpy.app.version_string}: exit {r.returncode}\n{r.stderr[-2000:]}"
    if want == 0:
        assert "flowreel-exit: body done" in r.stdout
    if case == "register-exception":
        assert "RuntimeError: boom" in r.stderr  # the hook must not swallow the script's own error
