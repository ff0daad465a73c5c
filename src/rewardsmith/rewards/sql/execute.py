"""Running one untrusted query against a reference database, read-only and bounded.

Databases come from a reference: a SQLite or DuckDB file, or a schema plus rows that are built
once per worker process (SQLite: an in-memory image; DuckDB: a file in a private temporary
folder, named by the content hash and shared by the user's workers). Every query runs on a fresh connection with:

- **read-only access**: SQLite files open with ``mode=ro``; every SQLite connection has
  ``PRAGMA query_only`` and an authorizer that allows only reads (no PRAGMA, ATTACH,
  transactions or writes of any kind; ATTACH is also limited to zero databases). DuckDB
  connections are ``read_only`` with external access (files, network, extensions) disabled and
  the configuration locked, and only a single ``SELECT`` statement is accepted.
- **a time limit**: a SQLite progress handler aborts the query at the deadline; a timer calls
  DuckDB's ``interrupt()``.
- **size limits**: at most ``max_rows + 1`` rows are fetched; SQLite strings and blobs are
  capped at 10 MB (``SQLITE_LIMIT_LENGTH``); DuckDB runs on one thread with a 512 MB memory limit.

By default queries run in the engine's killable worker with these guards; with
``isolation="sandbox"`` a SQLite query runs in a confined child process of `rewardsmith.sandbox`
(same guards, plus the sandbox's rlimits, namespaces and seccomp). See docs/rewards/sql.md.

Example:
    >>> db = Database.from_reference({"schema": "CREATE TABLE t(x INT)", "rows": {"t": [[1], [2]]}})
    >>> run_query(db, "SELECT x FROM t ORDER BY x", timeout_s=1.0, max_rows=10).rows
    [(1,), (2,)]
    >>> run_query(db, "DELETE FROM t", timeout_s=1.0, max_rows=10).error
    'not a read-only query: not authorized'
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import functools
import hashlib
import json
import os
import sqlite3
import tempfile
import threading
import urllib.parse
from dataclasses import dataclass
from typing import Any, Final, Literal

from rewardsmith.rewards.sql.sqlite_guard import decode_cell, run_guarded

__all__ = ["Database", "QueryResult", "resolve_isolation", "run_query", "schema_names"]

Isolation = Literal["auto", "worker", "sandbox"]

_DUCKDB_CONFIG: Final[dict[str, Any]] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "threads": 1,
    "memory_limit": "512MB",
}
_SANDBOX_MAX_IMAGE_BYTES: Final = 256 << 20
_GUARD_SOURCE_PATH: Final = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "sqlite_guard.py"
)


@dataclass(frozen=True, slots=True)
class Database:
    """Where a reference's data lives: a file, or a schema and rows to build from."""

    engine: Literal["sqlite", "duckdb"]
    path: str | None = None
    schema: str | None = None
    rows_json: str | None = None  # {table: [[...], ...] | [{column: value}, ...]} as JSON

    @classmethod
    def from_reference(cls, reference: dict[str, Any], db_root: str | None = None) -> Database:
        """Read ``db``/``db_id``, or ``schema`` and ``rows``, and ``engine`` from a reference.

        Raises ValueError with the problem when the reference does not name a usable database.
        """
        engine: Literal["sqlite", "duckdb"] | None = reference.get("engine")
        if engine is not None and engine not in ("sqlite", "duckdb"):
            raise ValueError(f"'engine' must be 'sqlite' or 'duckdb', not {engine!r}")
        path = reference.get("db")
        if path is None and reference.get("db_id") is not None:
            db_id = reference["db_id"]
            if not isinstance(db_id, str) or not db_id or "/" in db_id or db_id.startswith("."):
                raise ValueError(f"'db_id' must be a plain name, got {db_id!r}")
            if db_root is None:
                raise ValueError(
                    "'db_id' needs the db_root param (the folder of <db_id>/<db_id>.sqlite)"
                )
            path = os.path.join(db_root, db_id, f"{db_id}.sqlite")
        if path is not None:
            if not isinstance(path, str) or not path:
                raise ValueError("'db' must be a file path")
            if db_root is not None and not os.path.isabs(path):
                path = os.path.join(db_root, path)
            if not os.path.isfile(path):
                raise ValueError(f"database file {path!r} does not exist")
            if engine is None:
                engine = "duckdb" if path.endswith((".duckdb", ".ddb")) else "sqlite"
            return cls(engine=engine, path=os.path.abspath(path))
        schema = reference.get("schema")
        if not isinstance(schema, str) or not schema.strip():
            raise ValueError("give the database as 'db' (a file), 'db_id' or 'schema' (+ 'rows')")
        rows = reference.get("rows", {})
        if not isinstance(rows, dict):
            raise ValueError("'rows' must map table names to lists of rows")
        return cls(
            engine=engine or "sqlite", schema=schema, rows_json=json.dumps(rows, sort_keys=True)
        )

    @property
    def key(self) -> str:
        blob = json.dumps([self.engine, self.path, self.schema, self.rows_json])
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass(slots=True)
class QueryResult:
    """Rows (normalised) or an error; ``truncated`` when there were more than ``max_rows``."""

    rows: list[tuple[Any, ...]] | None = None
    columns: int = 0
    error: str | None = None
    timed_out: bool = False
    truncated: bool = False
    failed_to_run: bool = False  # our side failed (sandbox, database), not the query
    refused: bool = False  # the sandbox lacks a protection it requires: the query never ran


# -- building databases from schema + rows ------------------------------------------------------


def _insert_rows(execute: Any, rows: dict[str, Any]) -> None:
    for table, items in rows.items():
        if not isinstance(items, list):
            raise ValueError(f"rows of {table!r} must be a list")
        quoted = '"' + str(table).replace('"', '""') + '"'
        for item in items:
            if isinstance(item, dict):
                names = ", ".join('"' + str(k).replace('"', '""') + '"' for k in item)
                marks = ", ".join("?" for _ in item)
                execute(f"INSERT INTO {quoted} ({names}) VALUES ({marks})", list(item.values()))
            elif isinstance(item, list):
                marks = ", ".join("?" for _ in item)
                execute(f"INSERT INTO {quoted} VALUES ({marks})", item)
            else:
                raise ValueError(f"a row of {table!r} must be a list or an object")


@functools.lru_cache(maxsize=32)
def _sqlite_image(schema: str, rows_json: str) -> bytes:
    connection = sqlite3.connect(":memory:")
    try:
        connection.executescript(schema)
        _insert_rows(connection.execute, json.loads(rows_json))
        connection.commit()
        return connection.serialize()
    finally:
        connection.close()


def _cache_dir() -> str:
    """A private folder for built DuckDB files, shared by this user's worker processes.

    Files are named by the content hash of schema + rows, so workers reuse each other's builds
    and a killed worker (whose exit handlers never run) leaves at most one file per database.
    """
    path = os.path.join(tempfile.gettempdir(), f"rewardsmith-sql-{os.getuid()}")
    os.makedirs(path, mode=0o700, exist_ok=True)
    info = os.stat(path)
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise ValueError(f"{path} is not a private folder of this user")
    return path


@functools.lru_cache(maxsize=32)
def _duckdb_file(key: str, schema: str, rows_json: str) -> str:
    import duckdb

    path = os.path.join(_cache_dir(), f"{key}.duckdb")
    if os.path.exists(path):
        return path
    partial = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    connection = duckdb.connect(partial)
    try:
        for statement in connection.extract_statements(schema):
            connection.execute(statement)
        _insert_rows(connection.execute, json.loads(rows_json))
    except BaseException:
        connection.close()
        with contextlib.suppress(OSError):
            os.remove(partial)
        raise
    connection.close()
    os.replace(partial, path)  # atomic: a reader sees no file or a complete one
    return path


# -- connections ---------------------------------------------------------------------------------


def _sqlite_connection(database: Database) -> sqlite3.Connection:
    """A fresh, unguarded connection (the caller guards it with `sqlite_guard.guard`)."""
    if database.path is not None:
        uri = f"file:{urllib.parse.quote(database.path)}?mode=ro"
        return sqlite3.connect(uri, uri=True, check_same_thread=False)
    connection = sqlite3.connect(":memory:", check_same_thread=False)
    connection.deserialize(_sqlite_image_of(database))
    return connection


def _sqlite_image_of(database: Database) -> bytes:
    if database.path is not None:
        size = os.path.getsize(database.path)
        if size > _SANDBOX_MAX_IMAGE_BYTES:
            raise ValueError(
                f"the database file is {size >> 20} MB, over {_SANDBOX_MAX_IMAGE_BYTES >> 20} MB "
                "for isolation='sandbox'; use isolation='worker'"
            )
        with open(database.path, "rb") as handle:
            return handle.read()
    assert database.schema is not None and database.rows_json is not None
    return _sqlite_image(database.schema, database.rows_json)


def _duckdb_connection(database: Database) -> Any:
    import duckdb

    path = database.path
    if path is None:
        assert database.schema is not None and database.rows_json is not None
        path = _duckdb_file(database.key, database.schema, database.rows_json)
    connection = duckdb.connect(path, read_only=True, config=dict(_DUCKDB_CONFIG))
    connection.execute("SET lock_configuration = true")
    return connection


def schema_names(database: Database) -> tuple[frozenset[str], frozenset[str]]:
    """The database's table and column names, casefolded (cached per database).

    This is also the first time a database is opened or built, so it reports a database that
    cannot be: raises ValueError with the problem (a bad schema, rows that do not fit it, a file
    that is not a database).
    """
    import duckdb

    try:
        return _schema_names(database)
    except (sqlite3.Error, duckdb.Error, ValueError, TypeError, OverflowError) as exc:
        raise ValueError(
            f"the database cannot be built or opened: {type(exc).__name__}: {str(exc)[:300]}"
        ) from None


@functools.lru_cache(maxsize=64)
def _schema_names(database: Database) -> tuple[frozenset[str], frozenset[str]]:
    tables: set[str] = set()
    columns: set[str] = set()
    if database.engine == "sqlite":
        connection = _sqlite_connection(database)
        try:
            names = connection.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
            ).fetchall()
            for (name,) in names:
                tables.add(str(name).casefold())
                escaped = str(name).replace('"', '""')
                for row in connection.execute(f'PRAGMA table_info("{escaped}")'):
                    columns.add(str(row[1]).casefold())
        finally:
            connection.close()
    else:
        connection = _duckdb_connection(database)
        try:
            for table, column in connection.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
            ).fetchall():
                tables.add(str(table).casefold())
                columns.add(str(column).casefold())
        finally:
            connection.close()
    return frozenset(tables), frozenset(columns)


# -- running -------------------------------------------------------------------------------------


def _normal(value: Any, digits: int) -> Any:
    """A comparable cell: numbers by value (ints stay exact), floats rounded, dates as text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
        return round(value, digits)
    if isinstance(value, datetime.date | datetime.time | datetime.datetime):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return repr(value)


def resolve_isolation(database: Database, isolation: Isolation) -> Literal["worker", "sandbox"]:
    """Where a query on this database runs. ``auto``: the sandbox for SQLite databases up to
    256 MB (their image is copied into each run), the worker for larger ones and for DuckDB
    (which cannot be imported in the sandbox; its own external-access lockdown applies)."""
    if isolation != "auto":
        return isolation
    if database.engine == "duckdb":
        return "worker"
    if database.path is not None and os.path.getsize(database.path) > _SANDBOX_MAX_IMAGE_BYTES:
        return "worker"
    return "sandbox"


def run_query(
    database: Database,
    sql: str,
    *,
    timeout_s: float,
    max_rows: int,
    float_digits: int = 6,
    isolation: Isolation = "worker",
) -> QueryResult:
    """Run one query read-only within ``timeout_s`` and fetch at most ``max_rows + 1`` rows.

    ``isolation="sandbox"`` runs a SQLite query in a confined child process of
    `rewardsmith.sandbox` (the database image is copied in); DuckDB queries always run here.
    """
    isolation = resolve_isolation(database, isolation)
    if database.engine == "duckdb":
        if isolation == "sandbox":
            return QueryResult(error="isolation='sandbox' runs SQLite only", failed_to_run=True)
        return _run_duckdb(database, sql, timeout_s, max_rows, float_digits)
    if isolation == "sandbox":
        return _run_sqlite_sandboxed(database, sql, timeout_s, max_rows, float_digits)
    found = run_guarded(_sqlite_connection(database), sql, timeout_s=timeout_s, max_rows=max_rows)
    return _from_guarded(found, float_digits)


def _from_guarded(found: dict[str, Any], digits: int) -> QueryResult:
    if "error" in found:
        return QueryResult(error=found["error"], timed_out=bool(found.get("timed_out")))
    rows = [tuple(_normal(decode_cell(cell), digits) for cell in row) for row in found["rows"]]
    return QueryResult(rows=rows, columns=found["columns"], truncated=found["truncated"])


@functools.cache
def _guard_source() -> str:
    with open(_GUARD_SOURCE_PATH, encoding="utf-8") as handle:
        return handle.read()


def _run_sqlite_sandboxed(
    database: Database, sql: str, timeout_s: float, max_rows: int, digits: int
) -> QueryResult:
    from rewardsmith.sandbox import SandboxError, SandboxLimits, SandboxRefused, default_sandbox

    try:
        image = _sqlite_image_of(database)
    except (OSError, ValueError) as exc:
        return QueryResult(error=str(exc), failed_to_run=True)
    header = json.dumps({"sql": sql, "timeout_s": timeout_s, "max_rows": max_rows})
    limits = SandboxLimits(
        time_limit_s=timeout_s + 1.0,
        wall_s=2 * timeout_s + 2.0,
        memory_mb=max(512, 3 * (len(image) >> 20) + 256),
        output_bytes=64 << 20,
    )
    try:
        run = default_sandbox().run_script(
            _guard_source(), stdin=header.encode() + b"\n" + image, limits=limits
        )
    except SandboxRefused as exc:
        # Fail closed; a SQLite query can instead run in the worker under the read-only guards.
        why = f'{exc} For SQL, isolation = "worker" runs SQLite in the worker instead.'
        return QueryResult(error=why, failed_to_run=True, refused=True)
    except SandboxError as exc:
        return QueryResult(error=f"the sandbox failed: {exc}", failed_to_run=True)
    if run.outcome == "time_limit":
        return QueryResult(error=f"over the {timeout_s:g} s time limit", timed_out=True)
    if run.outcome == "memory_limit":
        return QueryResult(error="over the sandbox memory limit")
    if run.outcome == "output_limit":
        return QueryResult(error="result too large for the sandbox output limit")
    if run.outcome == "sandbox_error":
        return QueryResult(error=f"the sandbox failed: {run.detail[:300]}", failed_to_run=True)
    if run.outcome != "ok":
        tail = run.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [run.outcome]
        return QueryResult(error=f"the query process failed: {tail[0][:300]}")
    try:
        found = json.loads(run.stdout.decode("utf-8").strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        return QueryResult(error=f"unreadable sandbox output: {exc}", failed_to_run=True)
    return _from_guarded(found, digits)


def _run_duckdb(
    database: Database, sql: str, timeout_s: float, max_rows: int, digits: int
) -> QueryResult:
    import duckdb

    connection = _duckdb_connection(database)
    timer = threading.Timer(timeout_s, connection.interrupt)
    try:
        try:
            statements = connection.extract_statements(sql)
        except duckdb.Error as exc:
            return QueryResult(error=f"{type(exc).__name__}: {str(exc)[:300]}")
        if len(statements) != 1:
            return QueryResult(error=f"{len(statements)} statements; give exactly one query")
        if statements[0].type != duckdb.StatementType.SELECT:
            return QueryResult(error=f"not a read-only query: {statements[0].type.name} statement")
        timer.start()
        try:
            cursor = connection.execute(sql)
            raw = cursor.fetchmany(max_rows + 1)
            columns = len(cursor.description or ())
        except duckdb.InterruptException:
            return QueryResult(error=f"over the {timeout_s:g} s time limit", timed_out=True)
        except duckdb.Error as exc:
            return QueryResult(error=f"{type(exc).__name__}: {str(exc)[:300]}")
    finally:
        timer.cancel()
        connection.close()
    return _result(raw, columns, max_rows, digits)


def _result(raw: list[Any], columns: int, max_rows: int, digits: int) -> QueryResult:
    truncated = len(raw) > max_rows
    rows = [tuple(_normal(cell, digits) for cell in row) for row in raw[:max_rows]]
    return QueryResult(rows=rows, columns=columns, truncated=truncated)
