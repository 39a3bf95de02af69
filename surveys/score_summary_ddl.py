"""``score_summary``: one row per assessment, rubric version and source with its overall score and
its domain scores (two JSON lists of the same length: the domain codes, and their scores or null),
kept by database triggers on ``score`` so that it always equals what ``score`` holds.

Why: the comparative dashboard reads every assessment of a cycle. Pivoting its ``score`` rows
(eleven or more per assessment) on every request cost most of the page at 5,000 NGOs; one
summary row per assessment is read by its primary key (bench/bench_dashboard.py, issue 9).

Why triggers, not the scoring service: every write to ``score`` goes through them, in the same
transaction and statement, whoever issues it (scoring and rescoring, a verification, the demo's
bulk updates, a cascade from a deleted assessment, a script or a test writing rows directly). A
trigger recomputes the summary of the key it touched from the ``score`` rows themselves (never
an incremental patch), so a summary is right by construction, and tests compare the two after
every kind of write (tests/surveys/test_score_summary.py).

Lists, not an object keyed by code: the assessments of one rubric version have the same codes,
so the reader parses all their scores at once into one array (a dict per row cost twice as
much at 5,000 NGOs). Scores keep every bit: SQLite writes them with 17 significant digits
(``printf('%!.17g')``; its JSON functions keep only 15); PostgreSQL's ``json_agg`` with
``extra_float_digits = 1`` writes the shortest text that reads back as the same double.

The same statements serve the models' ``create_all`` (tests) and the Alembic migration. A later
migration that alters ``score`` in batch mode on SQLite (a copy of the table) drops its
triggers: it must run ``statements("sqlite")`` again afterwards.
"""

# ruff: noqa: S608 (constant DDL assembled from this file's own literals; no input reaches it)

from __future__ import annotations

import sqlalchemy as sa

LEVELS = "('overall', 'domain')"

# SQLite: the summary of the keys ``where`` selects (``where`` starts with AND). The two lists are
# built in one pass over the same rows (the same filter): their positions correspond.
_SQLITE_SELECT = f"""SELECT assessment_id, rubric_version_id, source,
    max(CASE WHEN level = 'overall' THEN score END),
    '[' || coalesce(group_concat(CASE WHEN level = 'domain' THEN json_quote(code) END, ','), '')
        || ']',
    '[' || coalesce(group_concat(CASE WHEN level = 'domain' THEN
        CASE WHEN score IS NULL THEN 'null' ELSE printf('%!.17g', score) END END, ','), '')
        || ']'
  FROM score WHERE level IN {LEVELS} {{where}}
  GROUP BY assessment_id, rubric_version_id, source"""

_COLUMNS = (
    "score_summary (assessment_id, rubric_version_id, source, overall, domain_codes, domain_scores)"
)


def _sqlite_refresh(row: str) -> str:
    """Statements recomputing the summary of the key of ``row`` (NEW or OLD)."""
    key = (
        f"assessment_id = {row}.assessment_id AND rubric_version_id = {row}.rubric_version_id "
        f"AND source = {row}.source"
    )
    select = _SQLITE_SELECT.replace("{where}", f"AND {key}")
    return f"DELETE FROM score_summary WHERE {key};\n  INSERT INTO {_COLUMNS}\n  {select};"


SQLITE_CREATE = [
    f"""CREATE TRIGGER IF NOT EXISTS score_summary_after_insert AFTER INSERT ON score
WHEN NEW.level IN {LEVELS}
BEGIN
  {_sqlite_refresh("NEW")}
END""",
    f"""CREATE TRIGGER IF NOT EXISTS score_summary_after_delete AFTER DELETE ON score
WHEN OLD.level IN {LEVELS}
BEGIN
  {_sqlite_refresh("OLD")}
END""",
    f"""CREATE TRIGGER IF NOT EXISTS score_summary_after_update AFTER UPDATE ON score
WHEN OLD.level IN {LEVELS} OR NEW.level IN {LEVELS}
BEGIN
  {_sqlite_refresh("OLD")}
  {_sqlite_refresh("NEW")}
END""",
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS score_summary_after_{verb}" for verb in ("insert", "delete", "update")
]
SQLITE_BACKFILL = f"INSERT INTO {_COLUMNS}\n{_SQLITE_SELECT.replace('{where}', '')}"

_PG_EVENTS = {  # the rows each statement-level trigger reads
    "insert": "SELECT * FROM new_rows",
    "update": "SELECT * FROM old_rows UNION ALL SELECT * FROM new_rows",
    "delete": "SELECT * FROM old_rows",
}
_PG_REFERENCES = {
    "insert": "NEW TABLE AS new_rows",
    "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "OLD TABLE AS old_rows",
}

POSTGRESQL_CREATE = [
    # Writers of one key are serialised on its summary row: the placeholder insert and the
    # row lock come first, so the count below (a new statement: READ COMMITTED takes a new
    # snapshot) sees the rows of a concurrent writer that committed while this one waited.
    # Custom plans: a generic plan cached while ``score`` was small (a fresh database, a bulk
    # load) scanned the whole table on every call as it grew.
    f"""CREATE OR REPLACE FUNCTION score_summary_refresh(
    key_assessment integer, key_version integer, key_source varchar
) RETURNS void LANGUAGE plpgsql SET extra_float_digits = 1 SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    found bigint;
    found_overall double precision;
    found_codes text;
    found_scores text;
BEGIN
    INSERT INTO {_COLUMNS} VALUES (key_assessment, key_version, key_source, NULL, '[]', '[]')
        ON CONFLICT DO NOTHING;
    PERFORM 1 FROM score_summary
        WHERE assessment_id = key_assessment AND rubric_version_id = key_version
          AND source = key_source FOR UPDATE;
    SELECT count(*), max(score) FILTER (WHERE level = 'overall'),
           coalesce(json_agg(code ORDER BY code) FILTER (WHERE level = 'domain'), '[]')::text,
           coalesce(json_agg(score ORDER BY code) FILTER (WHERE level = 'domain'), '[]')::text
      INTO found, found_overall, found_codes, found_scores
      FROM score
     WHERE assessment_id = key_assessment AND rubric_version_id = key_version
       AND source = key_source AND level IN {LEVELS};
    IF found = 0 THEN
        DELETE FROM score_summary
         WHERE assessment_id = key_assessment AND rubric_version_id = key_version
           AND source = key_source;
    ELSE
        INSERT INTO {_COLUMNS}
            VALUES (key_assessment, key_version, key_source, found_overall, found_codes,
                    found_scores)
            ON CONFLICT (assessment_id, rubric_version_id, source)
            DO UPDATE SET overall = EXCLUDED.overall, domain_codes = EXCLUDED.domain_codes,
                          domain_scores = EXCLUDED.domain_scores;
    END IF;
END $$""",
    # Statement-level triggers: a statement writing many rows (a bulk rescoring, an ORM flush
    # of a thousand rows) refreshes each key it touched once, not once per row; in key order,
    # so two writers of the same keys lock them in the same order. (A transition table needs
    # a trigger of its own per event.)
    *(
        f"""CREATE OR REPLACE FUNCTION score_summary_after_{event}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM score_summary_refresh(k.assessment_id, k.rubric_version_id, k.source)
       FROM (SELECT DISTINCT assessment_id, rubric_version_id, source
               FROM ({rows}) AS written WHERE level IN {LEVELS}) AS k
      ORDER BY k.assessment_id, k.rubric_version_id, k.source;
    RETURN NULL;
END $$"""
        for event, rows in _PG_EVENTS.items()
    ),
    *(
        f"""CREATE TRIGGER score_summary_after_{event} AFTER {event.upper()} ON score
REFERENCING {references} FOR EACH STATEMENT EXECUTE FUNCTION score_summary_after_{event}()"""
        for event, references in _PG_REFERENCES.items()
    ),
]
POSTGRESQL_DROP = [
    *(f"DROP TRIGGER IF EXISTS score_summary_after_{event} ON score" for event in _PG_EVENTS),
    *(f"DROP FUNCTION IF EXISTS score_summary_after_{event}()" for event in _PG_EVENTS),
    "DROP FUNCTION IF EXISTS score_summary_refresh(integer, integer, varchar)",
]
POSTGRESQL_BACKFILL = f"""SELECT score_summary_refresh(assessment_id, rubric_version_id, source)
  FROM (SELECT DISTINCT assessment_id, rubric_version_id, source FROM score
         WHERE level IN {LEVELS}) AS keys"""


def statements(dialect: str, *, create: bool = True) -> list[str]:
    """The triggers' DDL (``create``) or what drops them, for ``dialect``."""
    if dialect == "sqlite":
        return SQLITE_CREATE if create else SQLITE_DROP
    if dialect == "postgresql":
        return POSTGRESQL_CREATE if create else POSTGRESQL_DROP
    return []


def backfill(dialect: str) -> str:
    """The statement summarising the scores already stored (the migration, once)."""
    return SQLITE_BACKFILL if dialect == "sqlite" else POSTGRESQL_BACKFILL


def install(table: sa.Table) -> None:
    """Create the triggers whenever the models create ``score`` (``create_all``)."""

    @sa.event.listens_for(table, "after_create")
    def _after_create(target: sa.Table, connection: sa.Connection, **_kw: object) -> None:
        for statement in statements(connection.dialect.name):
            connection.exec_driver_sql(statement)
