"""Shared fixtures: a throwaway PKI built once per run, and real services on loopback."""

pytest_plugins = [
    "tests.fixtures.pki",
    "tests.fixtures.services",
    "tests.fixtures.cli",
]
