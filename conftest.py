"""Shared pytest fixtures live in tests/fixtures/; they are registered here."""

pytest_plugins = [
    "tests.fixtures.media",
    "tests.fixtures.models",
    "tests.fixtures.app",
    "tests.fixtures.postgres",
    "tests.fixtures.nats",
    "tests.fixtures.service",
]

# Every module of the source packages is imported for its doctests (--doctest-modules), except:
# the Alembic environment runs migrations when imported, the RTSP test server needs Debian's
# GObject bindings, and the training recipe needs the train extra.
collect_ignore = ["store/migrations/env.py", "benchmarks/rtsp_serve.py"]
collect_ignore_glob = ["models/*"]
