"""sql: labelled cases on SQLite and DuckDB, the reference database never changes, hostile SQL."""

from __future__ import annotations

import hashlib
import sqlite3
import time

import duckdb
import pytest
from labelled_cases import check, labels, load

import rewardsmith
from rewardsmith import Sample
from rewardsmith.rewards.sql import extract_sql, sql_execution
from rewardsmith.rewards.sql.text import has_top_level_order_by, ngram_similarity, tokenize

HOSTILE = [
    "DROP TABLE singer",
    "DELETE FROM singer",
    "UPDATE singer SET age = 0",
    "INSERT INTO singer VALUES (9, 'Zed', 'X', 1, 1.0)",
    "CREATE TABLE x(a)",
    "ALTER TABLE singer ADD COLUMN hacked INT",
    "CREATE INDEX i ON singer(age)",
    "PRAGMA writable_schema = ON",
    "VACUUM",
    "BEGIN",
    "SELECT 1; DELETE FROM singer",
    "ATTACH DATABASE ':memory:' AS other",
    "REINDEX",
]


@pytest.mark.parametrize("case", load("sql"))
def test_sql_cases(case):
    check("sql", case)


def test_case_file_covers_right_wrong_and_hacks():
    assert {"right", "wrong", "hack", "bad_reference", "edge"} <= labels("sql")


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def sqlite_file(tmp_path):
    path = tmp_path / "shop.sqlite"
    connection = sqlite3.connect(path)
    connection.executescript(
        "CREATE TABLE singer(id INTEGER PRIMARY KEY, name TEXT, country TEXT, age INT, net REAL);"
        "INSERT INTO singer VALUES (1, 'Ann', 'France', 25, 1.5), (2, 'Bob', 'USA', 41, 3.0);"
    )
    connection.commit()
    connection.close()
    return path


@pytest.fixture
def duckdb_file(tmp_path):
    path = tmp_path / "shop.duckdb"
    connection = duckdb.connect(str(path))
    connection.execute("CREATE TABLE singer(id INT, name TEXT, country TEXT, age INT, net DOUBLE)")
    connection.execute(
        "INSERT INTO singer VALUES (1, 'Ann', 'France', 25, 1.5), (2, 'Bob', 'USA', 41, 3.0)"
    )
    connection.close()
    return path


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_reference_database_file_never_changes(engine, sqlite_file, duckdb_file):
    # isolation="auto": SQLite queries run in the sandbox, DuckDB ones in the worker.
    path = sqlite_file if engine == "sqlite" else duckdb_file
    before = _digest(path)
    reference = {"query": "SELECT name FROM singer WHERE age > 30", "db": str(path)}
    for query in HOSTILE:
        score = sql_execution(Sample(id="1", completion=query, reference=reference))
        assert score.status == "ok" and score.value == 0.0, (query, score)
    assert _digest(path) == before
    right = sql_execution(
        Sample(id="2", completion="SELECT name FROM singer WHERE age = 41", reference=reference)
    )
    assert right.value == 1.0


def test_db_root_and_db_id(tmp_path, sqlite_file):
    (tmp_path / "shop").mkdir()
    sqlite_file.rename(tmp_path / "shop" / "shop.sqlite")
    reference = {"query": "SELECT COUNT(*) FROM singer", "db_id": "shop"}
    sample = Sample(id="1", completion="SELECT count(id) FROM singer", reference=reference)
    assert sql_execution(sample, db_root=str(tmp_path)).value == 1.0
    assert sql_execution(sample).status == "invalid_reference"
    escape = Sample(id="2", completion="SELECT 1", reference={"query": "SELECT 1", "db_id": "../x"})
    assert "plain name" in sql_execution(escape, db_root=str(tmp_path)).reason


def test_not_a_database_file_is_invalid_reference(tmp_path):
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    reference = {"query": "SELECT 1", "db": str(path)}
    score = sql_execution(Sample(id="1", completion="SELECT 1", reference=reference))
    assert score.status == "invalid_reference" and "cannot be built or opened" in score.reason


def test_time_limit_holds_on_expensive_query():
    reference = {
        "query": "SELECT 1",
        "schema": "CREATE TABLE t(x INT)",
        "rows": {"t": [[i] for i in range(50)]},
    }
    slow = "SELECT COUNT(*) FROM t a, t b, t c, t d, t e, t f"
    start = time.perf_counter()
    score = sql_execution(Sample(id="1", completion=slow, reference=reference), query_timeout_s=0.5)
    assert time.perf_counter() - start < 3.0
    assert score.value == 0.0 and score.info["timed_out"] is True


def test_megabyte_completion_is_bounded():
    reference = {"query": "SELECT 1", "schema": "CREATE TABLE t(x INT)", "rows": {}}
    for completion in [
        "(" * 1_000_000,
        "SELECT " + "1 + " * 25_000 + "1",
        "```sql\n" * 150_000,
        "'" * 1_000_000,
    ]:
        start = time.perf_counter()
        score = sql_execution(Sample(id="1", completion=completion, reference=reference))
        assert time.perf_counter() - start < 5.0
        assert score.value in (0.0, None) and score.status in ("ok", "refused", "parse_error")


def test_extract_sql_skips_other_languages():
    text = "```sql\nSELECT 1\n```\nthen\n```python\nx = 1\n```"
    assert extract_sql(text) == "SELECT 1"
    assert extract_sql("  SELECT 2 ;; ") == "SELECT 2"


def test_sql_text_helpers():
    assert [t.text for t in tokenize("a/* x */b")] == ["a", "b"]
    assert has_top_level_order_by("SELECT a, ROW_NUMBER() OVER (ORDER BY b) FROM t") is False
    assert has_top_level_order_by("SELECT a FROM t UNION SELECT b FROM u ORDER BY 1") is True
    assert has_top_level_order_by("SELECT 'order by' FROM t") is False
    assert ngram_similarity("SELECT a FROM t", "select A from T") == 1.0


def test_engine_matches_direct_calls():
    cases = [p.values[0] for p in load("sql") if not p.values[0].get("params")]
    rows = [
        {"id": c["id"], "completion": c["completion"], "reference": c["reference"]} for c in cases
    ]
    batch = rewardsmith.score(rows, {"terms": [{"name": "sql", "use": "sql"}]}, workers=2)
    for case, scored in zip(cases, batch, strict=True):
        term = scored.info["terms"]["sql"]
        assert term["status"] == case["status"], case["id"]
        if case["value"] is not None:
            assert term["value"] == pytest.approx(case["value"], abs=1e-9), case["id"]


def _sandbox_or_skip():
    sandbox = pytest.importorskip("rewardsmith.sandbox", reason="no code sandbox in this tree")
    try:
        sandbox.default_sandbox().start()
    except (sandbox.SandboxError, OSError) as exc:
        pytest.skip(f"the sandbox cannot start here: {exc}")


SQLITE_CASES = [
    p
    for p in load("sql")
    if p.values[0]["status"] == "ok"
    and isinstance(p.values[0]["reference"], dict)
    and p.values[0]["reference"].get("engine") != "duckdb"
]


@pytest.mark.parametrize("case", SQLITE_CASES)
def test_worker_isolation_gives_the_same_results(case):
    # The labelled SQLite cases run in the sandbox (isolation="auto"); here in the worker.
    case = {**case, "params": {**case.get("params", {}), "isolation": "worker"}}
    check("sql", case)


@pytest.mark.parametrize("isolation", ["sandbox", "worker"])
def test_isolation_on_a_file_database(isolation, sqlite_file):
    if isolation == "sandbox":
        _sandbox_or_skip()
    before = _digest(sqlite_file)
    reference = {"query": "SELECT name FROM singer WHERE age > 30", "db": str(sqlite_file)}
    for query in [*HOSTILE, "SELECT name FROM singer WHERE age = 41"]:
        score = sql_execution(
            Sample(id="1", completion=query, reference=reference), isolation=isolation
        )
        assert score.status == "ok" and score.info["isolation"] == isolation
        assert score.value == (1.0 if query.endswith("41") else 0.0), query
    assert _digest(sqlite_file) == before


def test_auto_isolation_sandboxes_sqlite_only():
    sqlite_ref = {"query": "SELECT 1", "schema": "CREATE TABLE t(x INT)"}
    duck_ref = {**sqlite_ref, "engine": "duckdb"}
    sqlite_score = sql_execution(Sample(id="1", completion="SELECT 1", reference=sqlite_ref))
    duck_score = sql_execution(Sample(id="2", completion="SELECT 1", reference=duck_ref))
    assert sqlite_score.info["isolation"] == "sandbox" and sqlite_score.value == 1.0
    assert duck_score.info["isolation"] == "worker" and duck_score.value == 1.0


def test_sandbox_isolation_refuses_duckdb():
    reference = {"query": "SELECT 1", "schema": "CREATE TABLE t(x INT)", "engine": "duckdb"}
    score = sql_execution(
        Sample(id="1", completion="SELECT 1", reference=reference), isolation="sandbox"
    )
    assert score.status == "error" and "SQLite only" in score.reason


def test_check_reference():
    check_reference = rewardsmith.get_reward("sql").check_reference
    schema = {"schema": "CREATE TABLE t(x INT)"}
    assert check_reference({"query": "SELECT 1", **schema}) is None
    assert check_reference({"query": "SELECT 1", "db_id": "concert"}) is None  # needs db_root
    assert (
        check_reference({"query": "SELECT 1", "db": "dbs/x.sqlite"}) is None
    )  # maybe under db_root
    assert "does not exist" in check_reference({"query": "SELECT 1", "db": "/nonexistent/x.sqlite"})
    assert "gold 'query'" in check_reference(schema)
    assert "object" in check_reference("SELECT 1")
