"""Shared fixtures: a throwaway PKI built once per run, and real services on loopback."""

pytest_plugins = [
    "tests.fixtures.pki",
    "tests.fixtures.services",
    "tests.fixtures.cli",
]


def pytest_sessionstart(session):
    """What every edoc entry point does first: install the patches of other libraries."""
    from edoc import compat

    compat.install()
