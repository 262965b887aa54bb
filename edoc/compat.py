"""The one place where edoc changes other libraries' internals, installed once at start-up.

Every patch module below replaces something inside pyHanko, pyhanko-certvalidator,
asn1crypto or ReportLab (its docstring says what, why, and the upstream issue
if there is one). None of them changes anything when imported: the entry
points (``edoc.cli.main``, ``api.app.create_app``, the ``bench/`` scripts and
the test suite's start) call :func:`install`, which first checks every patched
library's installed version against the minor version the patch was tested
with (the module's ``TESTED``), and refuses to start, naming the library and
its version, when one does not match. Nothing is installed then.

>>> from edoc import compat
>>> compat.install()          # idempotent; raises IncompatibleLibrary on an untested version
>>> compat.installed()
True
"""

from __future__ import annotations

import re
from importlib import metadata
from types import ModuleType

from signing import _ades, _names, _pdfread, _signer_overrides

from .errors import ConfigurationError
from .render import _encode, _fonts, _qr

__all__ = ["PATCHES", "IncompatibleLibrary", "check_versions", "install", "installed", "uninstall"]

#: every patch module, in the order they are installed
PATCHES: tuple[ModuleType, ...] = (
    _pdfread,  # pyHanko: string readers (~half of a verification's CPU)
    _signer_overrides,  # pyHanko: InMemorySigner's shortcuts over SimpleSigner's private methods
    _ades,  # pyhanko-certvalidator: the validation clock (correctness, not speed)
    _names,  # asn1crypto: name comparison (~40% of a verification's CPU)
    _encode,  # ReportLab: remembered string and name encoders
    _fonts,  # ReportLab: ToUnicode skip for our fonts, Flate memo
    _qr,  # ReportLab: QR encoder's division, polynomials, data positions
)


class IncompatibleLibrary(ConfigurationError):
    """An installed library is not the version edoc's patches of its internals were tested with."""

    kind = "incompatible-library"

    def __init__(self, distribution: str, version: str | None, tested: str, patch: str, detail: str = ""):
        self.distribution, self.version, self.tested, self.patch = distribution, version, tested, patch
        if detail:  # the tested version, yet the patched code is not what the patch expects
            message = f"{patch} no longer applies to {distribution} {version}: {detail}"
        else:
            found = f"{distribution} {version}" if version else f"{distribution} (not installed)"
            message = (
                f"{found} is not the version edoc was tested with ({distribution} {tested}.x): "
                f"{patch} changes its internals and could break sealing or verification. "
                f"Install {distribution}=={tested}.* (see the lock file)"
            )
        super().__init__(message)


def _release(version: str) -> tuple[int, ...]:
    match = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(part) for part in match.group().split(".")) if match else ()


def _matches(version: str, tested: str) -> bool:
    prefix = _release(tested)
    return _release(version)[: len(prefix)] == prefix


def check_versions() -> None:
    """Raise :class:`IncompatibleLibrary` for the first patched library of an untested version."""
    for patch in PATCHES:
        distribution, tested = patch.TESTED
        try:
            version = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            raise IncompatibleLibrary(distribution, None, tested, patch.__name__) from None
        if not _matches(version, tested):
            raise IncompatibleLibrary(distribution, version, tested, patch.__name__)


def install() -> None:
    """Check the versions, then install every patch (idempotent). Nothing is installed on refusal."""
    check_versions()
    for patch in PATCHES:
        try:
            patch.install()
        except (AttributeError, RuntimeError) as exc:  # the target moved within a tested version
            distribution, tested = patch.TESTED
            uninstall()
            raise IncompatibleLibrary(
                distribution, metadata.version(distribution), tested, patch.__name__, str(exc)
            ) from exc


def uninstall() -> None:
    """Every library's own code again (for baselines and tests; idempotent)."""
    for patch in reversed(PATCHES):
        patch.uninstall()


def installed() -> bool:
    """Whether every patch is in place."""
    return all(patch.installed() for patch in PATCHES)
