"""``flask rubric ...``: command-line tools for rubric files.

``flask --app wsgi rubric validate FILE...`` prints ``FILE: ok (N questions)`` for each valid
file, or every problem as ``FILE:LINE: path.to.field: what is wrong`` and exits with status 1.
Validation needs no application context, so the group also works on its own (and in tests) with
click's ``CliRunner``.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from rubrics.loader import RubricFileError, load_rubric

rubric_cli = AppGroup("rubric", help="Work with rubric files.")


@rubric_cli.command("validate", with_appcontext=False)
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check rubric FILES: structure, ids, weights, bands, scores and relevance."""
    failed = False
    for path in files:
        try:
            rubric = load_rubric(path)
        except RubricFileError as exc:
            failed = True
            for problem in exc.problems:
                click.echo(str(problem))
        except (OSError, UnicodeDecodeError) as exc:
            failed = True
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            click.echo(f"{path}: cannot read: {reason}")
        else:
            count = sum(1 for _ in rubric.questions())
            click.echo(f"{path}: ok ({count} question{'s' if count != 1 else ''})")
    if failed:
        raise click.exceptions.Exit(1)
