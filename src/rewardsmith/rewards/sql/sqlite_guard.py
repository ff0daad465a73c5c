"""Read-only guards for a SQLite connection, and the program that runs one guarded query.

Standard library only: this file is imported by `rewardsmith.rewards.sql.execute` for queries run
in the worker, and its source is also the program the sandbox runs (as ``__main__``, under
``python -I -S``) for ``isolation = "sandbox"``, so both paths apply the same guards.

Example:
    >>> import sqlite3
    >>> connection = sqlite3.connect(":memory:")
    >>> _ = connection.execute("CREATE TABLE t(x)")
    >>> run_guarded(connection, "INSERT INTO t VALUES (1)", timeout_s=1.0, max_rows=10)
    {'error': 'not a read-only query: not authorized'}
    >>> run_guarded(sqlite3.connect(":memory:"), "SELECT 1, x'ff', NULL", timeout_s=1.0, max_rows=9)
    {'rows': [[1, {'$bytes': 'ff'}, None]], 'columns': 3, 'truncated': False}
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from typing import Any

__all__ = ["MAX_CELL_BYTES", "decode_cell", "guard", "run_guarded"]

MAX_CELL_BYTES = 10_000_000
# Authorizer action codes a read-only query needs; everything else is denied.
_ALLOWED_ACTIONS = frozenset(
    {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
)
_DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit"})
_DENIED_WORDS = ("not authorized", "authorization denied", "readonly")


def _authorize(
    action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None
) -> int:
    if action not in _ALLOWED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def guard(connection: sqlite3.Connection) -> None:
    """Make a connection read-only: ``query_only``, no ATTACH, capped values, an allowlist
    authorizer (SELECT, reads, functions, recursive CTEs; no PRAGMA, DDL, writes, ATTACH,
    VACUUM, transactions or ``load_extension``). Call it after any setup statements."""
    connection.execute("PRAGMA query_only = ON")
    connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_CELL_BYTES)
    connection.set_authorizer(_authorize)


def _encode(cell: Any) -> Any:
    if isinstance(cell, bytes):
        return {"$bytes": cell.hex()}
    return cell


def decode_cell(cell: Any) -> Any:
    """Undo the JSON encoding of a cell (bytes travel as ``{"$bytes": hex}``)."""
    if isinstance(cell, dict) and "$bytes" in cell:
        return bytes.fromhex(cell["$bytes"])
    return cell


def run_guarded(
    connection: sqlite3.Connection, sql: str, *, timeout_s: float, max_rows: int
) -> dict[str, Any]:
    """Guard the connection, run one query within ``timeout_s``, fetch ``max_rows + 1`` rows.

    Returns ``{"rows", "columns", "truncated"}`` (rows as JSON-able lists) or ``{"error"}``
    (plus ``"timed_out": True`` when the deadline stopped it). The connection is closed.
    """
    guard(connection)
    deadline = time.monotonic() + timeout_s
    expired = False

    def progress() -> int:
        nonlocal expired
        expired = time.monotonic() > deadline
        return int(expired)

    connection.set_progress_handler(progress, 1000)
    try:
        cursor = connection.execute(sql)
        if cursor.description is None:
            return {"error": "not a query: it returns no rows"}
        raw = cursor.fetchmany(max_rows + 1)
        columns = len(cursor.description)
    except sqlite3.DatabaseError as exc:
        if expired:
            return {"error": f"over the {timeout_s:g} s time limit", "timed_out": True}
        message = str(exc)
        if any(word in message for word in _DENIED_WORDS):
            return {"error": f"not a read-only query: {message[:200]}"}
        return {"error": f"{type(exc).__name__}: {message[:300]}"}
    except (sqlite3.Warning, sqlite3.ProgrammingError, ValueError, OverflowError) as exc:
        return {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    except RecursionError:
        return {"error": "query nested too deeply"}
    finally:
        connection.close()
    return {
        "rows": [[_encode(cell) for cell in row] for row in raw[:max_rows]],
        "columns": columns,
        "truncated": len(raw) > max_rows,
    }


def main() -> None:
    """Sandbox entry: stdin is one JSON header line (sql, timeout_s, max_rows), then the
    database image; stdout is the result as one JSON line."""
    stream = sys.stdin.buffer
    header = json.loads(stream.readline())
    image = stream.read()
    connection = sqlite3.connect(":memory:")
    connection.deserialize(image)
    result = run_guarded(
        connection, header["sql"], timeout_s=header["timeout_s"], max_rows=header["max_rows"]
    )
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
