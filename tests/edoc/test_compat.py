"""edoc.compat: every patch of another library installed at start-up, after a version check.

The version check is tested against real distribution metadata: a directory
holding ``<name>-<version>.dist-info`` put first on the path is what
importlib.metadata (and so edoc) finds, as after ``pip install pyhanko==0.39``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from api.app import create_app
from edoc import compat

ROOT = Path(__file__).resolve().parents[2]
TESTED = {
    "pyhanko": "0.38",
    "pyhanko-certvalidator": "0.33",
    "asn1crypto": "1.5",
    "reportlab": "5.1",
}


def _shadow(directory: Path, name: str, version: str) -> Path:
    """A distribution ``name`` at ``version`` that shadows the installed one when first on sys.path."""
    info = directory / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return directory


@pytest.fixture
def untested(tmp_path, monkeypatch):
    """``untested(name, version)``: that library looks installed at that version for this test."""

    def shadow(name: str, version: str) -> None:
        monkeypatch.syspath_prepend(str(_shadow(tmp_path / f"{name}-{version}", name, version)))
        assert metadata.version(name) == version

    yield shadow
    monkeypatch.undo()
    compat.install()
    assert compat.installed()


def test_every_patch_declares_the_minor_version_it_was_tested_with():
    assert {p.TESTED[0] for p in compat.PATCHES} == set(TESTED)
    for patch in compat.PATCHES:
        name, tested = patch.TESTED
        assert tested == TESTED[name], patch.__name__
        assert metadata.version(name).startswith(tested + "."), (name, metadata.version(name))
        for hook in ("install", "uninstall", "installed"):
            assert callable(getattr(patch, hook)), (patch.__name__, hook)


def test_install_puts_every_patch_in_and_is_idempotent():
    compat.install()
    compat.install()
    assert compat.installed() and all(p.installed() for p in compat.PATCHES)


def test_uninstall_gives_every_library_its_own_code_back():
    try:
        compat.uninstall()
        compat.uninstall()
        assert not any(p.installed() for p in compat.PATCHES)
    finally:
        compat.install()
    assert compat.installed()


@pytest.mark.parametrize("name, version", [
    ("pyhanko", "0.39.0"), ("pyhanko-certvalidator", "0.34.1"), ("asn1crypto", "1.6.0"),
    ("reportlab", "4.2.5"), ("reportlab", "5.10.0"),
])
def test_an_untested_version_refuses_to_install_and_names_the_library(untested, name, version):
    untested(name, version)
    compat.uninstall()
    with pytest.raises(compat.IncompatibleLibrary) as caught:
        compat.install()
    message = str(caught.value)
    assert f"{name} {version}" in message and f"{TESTED[name]}.x" in message, message
    assert caught.value.distribution == name and caught.value.version == version
    assert not any(p.installed() for p in compat.PATCHES)  # nothing half-installed


def test_a_patch_target_that_moved_within_a_tested_version_refuses_too(monkeypatch):
    from signing import _signer_overrides

    monkeypatch.setattr(_signer_overrides, "PRIVATE", (*_signer_overrides.PRIVATE, "_gone_in_pyhanko"))
    try:
        with pytest.raises(compat.IncompatibleLibrary, match="no longer applies to pyhanko 0.38"):
            compat.install()
        assert not compat.installed()
    finally:
        monkeypatch.undo()
        compat.install()


def test_the_cli_refuses_to_start_with_a_clear_message(untested, run_edoc, home):
    untested("pyhanko", "0.39.0")
    code, out, err = run_edoc(home, "templates")
    assert code == 1 and out == ""
    assert err.startswith("edoc: pyhanko 0.39.0 is not the version edoc was tested with (pyhanko 0.38.x)")
    assert "Traceback" not in err


def test_the_api_refuses_to_start(untested, home):
    untested("reportlab", "5.2.0")
    with pytest.raises(compat.IncompatibleLibrary, match="reportlab 5.2.0"):
        create_app(home=home)


def test_the_installed_console_script_refuses_too(tmp_path):
    shadow = _shadow(tmp_path / "shadow", "asn1crypto", "1.6.0")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shadow), str(ROOT)])}
    edoc = Path(sys.executable).with_name("edoc")
    proc = subprocess.run([str(edoc), "--home", str(tmp_path / "home"), "templates"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "edoc: asn1crypto 1.6.0 is not the version edoc was tested with" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_importing_edoc_installs_nothing():
    """Only the entry points install: importing the modules that used to install on import does not."""
    code = (
        "import edoc.verification, edoc.issuance, edoc.render, edoc.home, edoc.cli, api.app\n"
        "import signing.ltv, signing.keys, signing.validate\n"
        "from edoc import compat\n"
        "print([p.__name__ for p in compat.PATCHES if p.installed()])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
