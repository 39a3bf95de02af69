"""``flask --app wsgi create-org``: an organisation without the web pages (the first one)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from accounts.models import OrgKind
from accounts.organizations import services
from webapp.extensions import dbsession


@click.command("create-org")
@click.option("--code", required=True, help="Lower-case letters, digits and hyphens.")
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice([k.value for k in OrgKind]), default=OrgKind.NGO.value)
@click.option("--country", help="ISO 3166-1 alpha-2 code, e.g. AL.")
@with_appcontext
def create_org_command(code: str, name: str, kind: str, country: str | None) -> None:
    """Create an organisation (its profile starts hidden from the directory)."""
    session = dbsession()
    country = country.strip().upper() if country else None
    if country is not None and (len(country) != 2 or not country.isalpha()):
        raise click.UsageError("--country takes a two-letter code, e.g. AL")
    try:
        org = services.create_organization(
            session, code=code, name=name, kind=kind, country=country, by=None
        )
    except services.OrganizationError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from exc
    session.commit()
    click.echo(f"created {org.code} ({org.kind}): {org.name}")
