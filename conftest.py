"""Shared pytest fixtures live in tests/fixtures/; they are registered here."""

pytest_plugins = [
    "tests.fixtures.media",
    "tests.fixtures.models",
    "tests.fixtures.app",
    "tests.fixtures.postgres",
    "tests.fixtures.nats",
    "tests.fixtures.service",
]
