"""The ``sql`` reward: execution match of a predicted query against the gold query.

Both queries run against the reference database (read-only, time-limited, row-capped: see
`rewardsmith.rewards.sql.execute`); the result sets are compared order-insensitively unless the
gold query ends with a top-level ``ORDER BY``. Reasoning-SQL's partial signals (syntax validity,
schema-linking Jaccard, n-gram similarity) are reported as components and, in ``partial`` mode,
pay a bounded share for wrong queries.

Example:
    >>> from rewardsmith import Sample
    >>> ref = {"query": "SELECT name FROM pets WHERE age > 2",
    ...        "schema": "CREATE TABLE pets(name TEXT, age INT)",
    ...        "rows": {"pets": [["Rex", 3], ["Tom", 1], ["Kit", 5]]}}
    >>> reply = "```sql\\nSELECT name FROM pets WHERE age >= 3 ORDER BY name;\\n```"
    >>> score = sql_execution(Sample(id="1", completion=reply, reference=ref))
    >>> score.value, score.components["execution"], score.components["syntax"]
    (1.0, 1.0, 1.0)
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from typing import Any, ClassVar, Final, Literal

from rewardsmith.core.params import CheckedParam, PositiveInt
from rewardsmith.core.reward import reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.rewards.sql.execute import (
    Database,
    QueryResult,
    resolve_isolation,
    run_query,
    schema_names,
)
from rewardsmith.rewards.sql.text import (
    has_top_level_order_by,
    jaccard,
    ngram_similarity,
    schema_items,
)

__all__ = ["extract_sql", "sql_execution"]

_SQL_FENCES: Final = ("sql", "sqlite", "duckdb", "postgresql", "mysql", "")
_MAX_SQL_CHARS: Final = 100_000


class UnitFloat(float, CheckedParam):
    """A number from 0 to 1."""

    base: ClassVar[Any] = float

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"must be between 0 and 1, got {value}")
        return value


class Seconds(float, CheckedParam):
    """A positive number of seconds, at most 600."""

    base: ClassVar[Any] = float

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        if not 0.0 < value <= 600.0:
            raise ValueError(f"must be in (0, 600] seconds, got {value}")
        return value


def extract_sql(text: str, source: Literal["auto", "whole", "fenced"] = "auto") -> str | None:
    """The query in a completion: the last ```` ```sql ```` (or untagged) fenced block in
    ``auto``/``fenced`` mode, else (``auto``/``whole``) the whole text; trailing ``;`` removed.

    Example:
        >>> extract_sql("Try:\\n```sql\\nSELECT 1;\\n```\\nor better:\\n```sql\\nSELECT 2;\\n```")
        'SELECT 2'
        >>> extract_sql("no query here", source="fenced") is None
        True
    """
    query: str | None = None
    if source != "whole":
        fences: list[int] = []
        position = text.find("```")
        while position >= 0:
            fences.append(position)
            position = text.find("```", position + 3)
        # Fences pair up in order; the last pair tagged as SQL (or untagged) wins.
        for pair in range(len(fences) // 2 - 1, -1, -1):
            opening, close = fences[2 * pair], fences[2 * pair + 1]
            header_end = text.find("\n", opening, close)
            if header_end < 0:
                continue
            if text[opening + 3 : header_end].strip().lower() in _SQL_FENCES:
                query = text[header_end + 1 : close]
                break
    if query is None:
        if source == "fenced":
            return None
        query = text
    query = query.strip()
    while query.endswith(";"):
        query = query[:-1].rstrip()
    return query or None


def _reference(reference: Any, db_root: str | None) -> tuple[str, Database] | str:
    if not isinstance(reference, dict):
        return "the reference must be an object with the gold 'query' and the database"
    gold = reference.get("query", reference.get("sql"))
    if not isinstance(gold, str) or not gold.strip():
        return "the reference has no gold 'query' (a SQL string)"
    try:
        database = Database.from_reference(reference, db_root)
    except ValueError as exc:
        return str(exc)
    return gold.strip().rstrip(";").strip(), database


def _check_reference(reference: Any) -> str | None:
    found = _reference(reference, None)
    if not isinstance(found, str):
        return None
    # The spec's db_root param is not visible here: a db_id, or a relative db path that may
    # live under db_root, cannot be checked for existence.
    relative_db = isinstance(reference, dict) and not os.path.isabs(str(reference.get("db", "/")))
    if "db_root" in found or (relative_db and "does not exist" in found):
        return None
    return found


@functools.lru_cache(maxsize=256)
def _gold_result(
    database: Database, gold: str, timeout_s: float, max_rows: int, digits: int
) -> QueryResult:
    # Every sample of a GRPO group shares its gold query: run it once per worker.
    return run_query(database, gold, timeout_s=timeout_s, max_rows=max_rows, float_digits=digits)


def _same_rows(
    predicted: list[tuple[Any, ...]], gold: list[tuple[Any, ...]], ordered: bool, compare: str
) -> bool:
    if ordered:
        return predicted == gold
    if compare == "set":
        return set(predicted) == set(gold)
    return Counter(predicted) == Counter(gold)


@reward(
    "sql",
    inline=False,  # runs queries: bounded by a time limit, but never cheap
    version="1",
    reads=("completion", "reference"),
    timeout_s=30.0,
    check_reference=_check_reference,
)
def sql_execution(
    sample: Sample,
    *,
    source: Literal["auto", "whole", "fenced"] = "auto",
    mode: Literal["execution", "partial"] = "execution",
    partial_weight: UnitFloat = 0.5,  # type: ignore[assignment]
    compare: Literal["multiset", "set"] = "multiset",
    order: Literal["auto", "ignore", "always"] = "auto",
    query_timeout_s: Seconds = 5.0,  # type: ignore[assignment]
    max_rows: PositiveInt = 10_000,
    float_digits: PositiveInt = 6,
    db_root: str | None = None,
    isolation: Literal["auto", "worker", "sandbox"] = "auto",
) -> Score:
    """1.0 when the predicted query returns the same result as the gold query, else 0.0.

    Args:
        sample: the sample. ``reference`` is ``{"query": gold SQL, ...database}``, the database
            being ``"db"`` (a SQLite or DuckDB file; ``.duckdb``/``.ddb`` mean DuckDB), ``"db_id"``
            (Spider/BIRD layout: ``<db_root>/<db_id>/<db_id>.sqlite``) or ``"schema"`` (DDL) plus
            ``"rows"`` (``{table: [[v, ...], ...] or [{column: v}, ...]}``); ``"engine"``
            (``sqlite``/``duckdb``) overrides the guess.
        source: where the query is (see `extract_sql`).
        mode: ``execution`` (the value is the execution match) or ``partial``: a wrong query
            earns ``partial_weight`` × the mean of ``syntax``, ``schema_linking`` and ``ngram``.
        partial_weight: the most a wrong query can earn in ``partial`` mode (0 to 1).
        compare: ``multiset`` (duplicates count) or ``set`` (BIRD's comparison).
        order: ``auto`` compares rows in order only when the gold query ends with a top-level
            ``ORDER BY``; ``ignore`` never; ``always`` always.
        query_timeout_s: time limit of each query.
        max_rows: rows fetched per query; a predicted result with more rows is wrong, a gold
            result with more is an ``invalid_reference``.
        float_digits: floats are rounded to this many decimals before comparing.
        db_root: folder for relative ``db`` paths and ``db_id``.
        isolation: where the predicted query runs: ``sandbox`` (SQLite only: a confined child
            process of `rewardsmith.sandbox`, the database image copied in), ``worker`` (in the
            engine's killable worker process, with the same read-only guards and time limit),
            or ``auto``: the sandbox for SQLite databases up to 256 MB, the worker for larger
            ones and for DuckDB. Gold queries are trusted and always run in the worker.

    Returns:
        ``ok`` with the value and components ``execution``, ``syntax`` (the query ran),
        ``schema_linking`` (Jaccard of the tables and columns both queries name) and ``ngram``
        (Jaccard of token bigrams); ``parse_error`` when the completion holds no query;
        ``invalid_reference`` when the database or the gold query is unusable (missing file,
        gold query fails, times out or exceeds ``max_rows``).

    Known failure modes:
        Execution match is only as strong as the database: on a small table a wrong query can
        return the right rows by chance (Spider's test-suite accuracy uses several databases for
        that reason). Column order and count must match; column names are ignored. A gold
        ``ORDER BY`` with ties accepts only one of the valid orders. Schema linking and n-grams
        reward looking like the gold query, not being right, hence the cap in ``partial`` mode.

    Example:
        >>> from rewardsmith import Sample
        >>> ref = {"query": "SELECT COUNT(*) FROM t", "schema": "CREATE TABLE t(x INT)",
        ...        "rows": {"t": [[1], [2]]}}
        >>> s = sql_execution(Sample(id="1", completion="DROP TABLE t", reference=ref))
        >>> s.value, s.components["syntax"], s.reason
        (0.0, 0.0, 'predicted query failed: not a read-only query: not authorized')
    """
    found = _reference(sample.reference, db_root)
    if isinstance(found, str):
        return Score.fail("invalid_reference", found)
    gold_sql, database = found
    predicted_sql = extract_sql(sample.completion_text, source)
    if predicted_sql is None:
        return Score.fail("parse_error", "no SQL query in the completion")
    if len(predicted_sql) > _MAX_SQL_CHARS:
        return Score.fail(
            "refused", f"query is {len(predicted_sql)} characters, over {_MAX_SQL_CHARS}"
        )
    try:
        tables, columns = schema_names(database)
    except ValueError as exc:
        return Score.fail("invalid_reference", str(exc))
    gold = _gold_result(database, gold_sql, query_timeout_s, max_rows, float_digits)
    if gold.rows is None:
        return Score.fail("invalid_reference", f"gold query failed: {gold.error}")
    if gold.truncated:
        return Score.fail(
            "invalid_reference", f"gold result has more than max_rows={max_rows} rows"
        )
    predicted = run_query(
        database,
        predicted_sql,
        timeout_s=query_timeout_s,
        max_rows=max_rows,
        float_digits=float_digits,
        isolation=isolation,
    )
    if predicted.refused:
        return Score.fail(
            "refused", predicted.error or "the sandbox refused the query", fault="grader"
        )
    if predicted.failed_to_run:
        return Score.fail("error", f"the predicted query could not be run: {predicted.error}")
    components = {
        "execution": 0.0,
        "syntax": float(predicted.rows is not None),
        "schema_linking": jaccard(
            schema_items(predicted_sql, tables, columns), schema_items(gold_sql, tables, columns)
        ),
        "ngram": ngram_similarity(predicted_sql, gold_sql),
    }
    ordered = order == "always" or (order == "auto" and has_top_level_order_by(gold_sql))
    info: dict[str, Any] = {
        "ordered": ordered,
        "gold_rows": len(gold.rows),
        "isolation": resolve_isolation(database, isolation),
    }
    reason = ""
    if predicted.rows is None:
        reason = f"predicted query failed: {predicted.error}"
        info["timed_out"] = predicted.timed_out
    elif predicted.truncated:
        reason = f"predicted result has more than max_rows={max_rows} rows"
    elif predicted.columns != gold.columns:
        reason = f"{predicted.columns} columns, the gold result has {gold.columns}"
    elif not _same_rows(predicted.rows, gold.rows, ordered, compare):
        info["predicted_rows"] = len(predicted.rows)
        reason = "result differs from the gold result" + (" (in order)" if ordered else "")
    else:
        components["execution"] = 1.0
    if components["execution"] == 1.0 or mode == "execution":
        value = components["execution"]
    else:
        partial = (components["syntax"] + components["schema_linking"] + components["ngram"]) / 3
        value = partial_weight * partial
    return Score(value=value, reason=reason, components=components, info=info)
