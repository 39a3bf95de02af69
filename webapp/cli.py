"""Command-line interface: ``flask --app wsgi <command>``."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from accounts.cli import create_user_command
from webapp import backup as backups
from webapp import demo
from webapp.extensions import dbsession
from webapp.migrate import upgrade_database


@click.command("db-upgrade")
@with_appcontext
def db_upgrade_command() -> None:
    """Create or migrate the database schema (Alembic)."""
    url = current_app.config["DATABASE_URL"]
    upgrade_database(url)
    click.echo("database is at the latest schema")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only seed a database without users.")
@with_appcontext
def seed_demo_command(if_empty: bool) -> None:
    """Load the demo organisations, logins, rubrics, cycles and assessments (once)."""
    session = dbsession()
    if demo.has_demo_users(session):
        click.echo("demo data already loaded; nothing changed")
    elif not demo.is_empty(session):
        if not if_empty:
            raise click.ClickException("the database already has users; demo data not loaded")
        click.echo("database already has data; demo data not loaded")
    else:
        started = time.perf_counter()
        demo.seed(session)
        session.commit()
        click.echo(f"demo data loaded in {time.perf_counter() - started:.1f} s")
    if demo.has_demo_users(session):
        counts = demo.summary(session)
        click.echo(
            "  {ngos} NGOs in {countries} countries, {funders} funders, {ngos_sharing} NGOs "
            "sharing with a funder, {cycles} cycles".format(**counts)
        )
        states = ", ".join(
            f"{n} {key.removeprefix('child_protection_').replace('_', ' ')}"
            for key, n in counts.items()
            if key.startswith("child_protection_") and n
        )
        click.echo(f"  child-protection assessments: {states}")
        click.echo(f"\nDemo logins (password for all: {demo.DEMO_PASSWORD}):")
        for login in demo.DEMO_USERS:
            where = f" of {login.organization}" if login.organization else ""
            click.echo(f"  {login.email:<22} {login.role}{where}")


def _progress(line: str) -> None:
    click.echo(f"  {line}", err=True)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Write a consistent copy of the database to PATH while the app keeps running
    (SQLite: the online backup API; PostgreSQL: pg_dump's custom format)."""
    url = current_app.config["DATABASE_URL"]
    started = time.perf_counter()
    try:
        backups.backup(url, path, pg_bin=current_app.config.get("PG_BIN"), report=_progress)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    size = path.stat().st_size
    click.echo(
        f"backup written to {path} ({size / 1e6:.1f} MB, {time.perf_counter() - started:.1f} s)"
    )


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
@with_appcontext
def restore_command(path: Path, force: bool) -> None:
    """Replace the database by the backup at PATH (refused on a non-empty database unless
    --force)."""
    url = current_app.config["DATABASE_URL"]
    started = time.perf_counter()
    try:
        backups.restore(
            url, path, force=force, pg_bin=current_app.config.get("PG_BIN"), report=_progress
        )
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"database restored from {path} ({time.perf_counter() - started:.1f} s)")


def register(app: Flask) -> None:
    from rubrics.cli import rubric_cli
    from surveys.cli import rescore_command

    for cmd in (db_upgrade_command, seed_demo_command, create_user_command, rescore_command):
        app.cli.add_command(cmd)
    for cmd in (backup_command, restore_command):
        app.cli.add_command(cmd)
    app.cli.add_command(rubric_cli)
    from surveys.reminders.cli import remind_command

    app.cli.add_command(remind_command)
    from accounts.organizations.cli import create_org_command

    app.cli.add_command(create_org_command)
    from surveys.imports.cli import import_answers_command

    # `flask surveys import-answers`, beside the evidence blueprint's `surveys purge-evidence`.
    surveys_group = app.cli.commands.get("surveys")
    if isinstance(surveys_group, click.Group):
        surveys_group.add_command(import_answers_command)
    else:  # pragma: no cover - the evidence blueprint defines the group
        app.cli.add_command(import_answers_command)
