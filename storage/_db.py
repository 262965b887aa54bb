"""Engine setup, migrations and error conversion shared by the registry and the audit log."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from storage.errors import StorageError, StorageUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "storage_alembic_version"
# any fixed 64-bit number; all processes migrating one database agree on it
_MIGRATION_LOCK_ID = 0x6564_6F63_5354_4F52  # "edocSTOR"
_SQLITE_BUSY_MS = 30_000


class _SqliteWriteLock:
    """SQLite's one writer at a time, queued for in the kernel rather than in SQLite.

    SQLite's busy handler polls, sleeping in steps of up to 100 ms: under 32
    concurrent requests, or two worker processes committing 40 times a second
    each, that made tails of seconds and left cores idle. Threads of one process
    queue on a lock; processes then queue on ``flock`` of a file beside the
    database, which wakes the next writer as soon as the last one commits.
    """

    def __init__(self, path: Path | None):
        self._thread_lock = threading.RLock()
        self._path = path
        self._fd: int | None = None
        self._pid = 0
        self._depth = 0

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        try:
            if self._depth == 0 and self._path is not None:
                fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException as exc:
            self._thread_lock.release()
            if isinstance(exc, OSError):
                raise StorageUnavailable(f"database unavailable: {exc}") from exc
            raise
        self._depth += 1

    def __exit__(self, *exc) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
            assert self._path is not None
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd

    def __del__(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)


_SQLITE_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, _SqliteWriteLock] = weakref.WeakKeyDictionary()


class UTCDateTime(sa.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def create_engine(database_url: str) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql+psycopg://...``, tuned for several processes."""
    try:
        url = make_url(database_url)
    except ArgumentError as exc:
        raise StorageError(f"not a database URL: {database_url!r}") from exc
    backend = url.get_backend_name()
    if backend == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")  # the driver we ship
    try:
        if backend == "sqlite":
            return _sqlite_engine(url)
        if backend == "postgresql":
            return sa.create_engine(url, pool_pre_ping=True, future=True)
    except NoSuchModuleError as exc:
        raise StorageError(f"no database driver for {url.drivername!r}") from exc
    raise StorageError(
        f"unsupported database {backend!r}: use sqlite:///path or postgresql+psycopg://..."
    )


def _sqlite_engine(url) -> Engine:
    memory = url.database in (None, "", ":memory:")
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False},
        poolclass=StaticPool if memory else None,
    )

    _SQLITE_WRITE_LOCKS[engine] = _SqliteWriteLock(
        None if memory else Path(f"{url.database}-writelock")
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # we emit BEGIN ourselves (below) so that SQLite's transactions are real
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk before it returns. NORMAL would let a power cut
            # take back registrations already answered 201 (their objects are fsync'd).
            cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front: a deferred transaction that reads
        # and then writes can fail with SQLITE_BUSY instead of waiting.
        if conn.get_execution_options().get("storage_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


@contextlib.contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: serialised on SQLite, ordinary on PostgreSQL."""
    lock = _SQLITE_WRITE_LOCKS.get(engine)
    with lock or contextlib.nullcontext(), db_errors(), engine.connect() as conn:
        conn.execution_options(storage_write=True)
        with conn.begin():
            yield conn


@contextlib.contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction."""
    with db_errors(), engine.connect() as conn, conn.begin():
        yield conn


@contextlib.contextmanager
def snapshot_tx(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction whose every query sees the same moment."""
    with db_errors(), engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            # SQLite in WAL mode pins the snapshot at the first read of the transaction
            yield conn


@contextlib.contextmanager
def db_errors() -> Iterator[None]:
    """Turn SQLAlchemy's connection and driver errors into StorageError subclasses.

    IntegrityError is let through on purpose: callers turn it into a domain answer.
    """
    try:
        yield
    except sa.exc.IntegrityError:
        raise
    except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as exc:
        raise StorageUnavailable(f"database unavailable: {_first_line(exc)}") from exc
    except (DBAPIError, SQLAlchemyError) as exc:
        raise StorageError(f"database error: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


def upgrade(engine: Engine) -> None:
    """Migrate the database to the newest schema; safe when several processes start at once."""
    with write_tx(engine) as conn:
        if conn.dialect.name == "postgresql":
            # DDL is transactional on PostgreSQL: holding this lock for the whole
            # transaction makes the second process see the finished schema
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _signed(_MIGRATION_LOCK_ID)})
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _signed(n: int) -> int:
    return n - (1 << 64) if n >= (1 << 63) else n


def schema_revision(conn: Connection) -> str | None:
    """The Alembic revision the database is at."""
    from alembic.migration import MigrationContext

    ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return ctx.get_current_revision()
