"""The composition root: ``create_app`` wires configuration, extensions and blueprints."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import Flask, has_request_context, request, session
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from accounts import permissions
from webapp import config
from webapp.database import configure_engine
from webapp.extensions import babel, csrf, db, login_manager


class ConfigurationError(RuntimeError):
    """The app would start unsafely (e.g. with the development secret key in production)."""


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(config.defaults(app.instance_path))
    if test_config is None:
        _load_instance_secret(app)
        app.config.update(config.from_environment())
        app.config.from_prefixed_env("EVALUATOR")
    else:
        app.config.from_mapping(test_config)

    if app.config["SECRET_KEY"] == config.DEV_SECRET_KEY and not (app.debug or app.testing):
        raise ConfigurationError(
            "Refusing to start with the development SECRET_KEY. Set SECRET_KEY in the "
            "environment, or write a random key to instance/secret_key (`make run` does)."
        )
    url = config.normalise_database_url(app.config["DATABASE_URL"])
    app.config["DATABASE_URL"] = url
    app.config.setdefault("SQLALCHEMY_ENGINES", {"default": url})
    if url.startswith("sqlite:///"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["can"] = permissions.can_in_template  # {% if can("author_rubric") %}
    app.jinja_env.globals["own_ngos"] = _own_ngos
    app.jinja_env.filters["pct"] = _percent
    # One way to show a date and a moment, in the viewer's language (issue 10, section 5).
    app.jinja_env.filters["day"] = _day
    app.jinja_env.filters["moment"] = _moment
    # One way to show a number: scores, other decimals and shares (reports.numbers), and one
    # glossary of the words people may not know (webapp.glossary; the ``terms`` macro).
    _register_numbers_and_terms(app)

    _declare_static_public(app)
    from webapp import inputs

    inputs.register(app)  # before the blueprints: their rules take its bounded int converter
    _register_blueprints(app)
    from webapp import cli, errors, security

    errors.register(app)
    security.register(app)
    cli.register(app)
    return app


def _load_instance_secret(app: Flask) -> None:
    """Use ``instance/secret_key`` (written by ``init-instance``) when the environment has none."""
    path = Path(app.instance_path) / "secret_key"
    if not os.environ.get("SECRET_KEY") and path.exists():
        app.config["SECRET_KEY"] = path.read_text().strip()


def _percent(share: float | None) -> str:
    """0.875 -> "88%"; None (nothing applicable) -> "n/a"."""
    from reports.numbers import percent

    return percent(share)


def _register_numbers_and_terms(app: Flask) -> None:
    from reports import numbers
    from webapp import glossary

    app.jinja_env.filters["score"] = numbers.score  # {{ d.score|score }} -> "41.7" / "41,7"
    app.jinja_env.filters["decimal"] = numbers.number  # {{ weight|decimal(2) }}
    app.jinja_env.globals["glossary"] = glossary.explain
    app.jinja_env.globals["own_ngo"] = _own_ngo  # "Your rating" only to the NGO itself


def _own_ngo(org_id: int) -> bool:
    """Whether the viewer belongs to the NGO ``org_id`` (so a column may say "Your rating")."""
    try:
        return org_id in permissions.current_principal().ngos
    except SQLAlchemyError:
        return False


def _day(value: date | datetime | None) -> Markup:
    """A date as people read it in their language ("7 Dec 2026", "7 Δεκ 2026"), machine-readable
    in its <time> element; a dash for none."""
    if value is None:
        return Markup("\u2013")  # an en dash
    return Markup('<time datetime="{}">{}</time>').format(
        value.isoformat(), format_date(value, "medium")
    )


def _moment(value: datetime | None) -> Markup:
    """A date and time as people read them in their language, in the app's time zone
    (``BABEL_DEFAULT_TIMEZONE``, UTC unless set); a dash for none."""
    if value is None:
        return Markup("\u2013")  # an en dash
    return Markup('<time datetime="{}">{}</time>').format(
        value.isoformat(), format_datetime(value, "medium")
    )


def _own_ngos() -> list[int]:
    """The ids of the NGOs the person belongs to, for links to their pages (the template asks
    the core what they may do there); none after a database failure (the error page)."""
    try:
        return sorted(permissions.current_principal().ngos)
    except SQLAlchemyError:
        return []


def _select_locale() -> str | None:
    languages: list[str] = ["en", "el"]
    if not has_request_context():  # the CLI: services' lazy messages are read in English
        return None
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in languages:
        return str(chosen)
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return str(current_user.locale)
    return request.accept_languages.best_match(languages) or "en"


def _declare_static_public(app: Flask) -> None:
    """Flask's own static route, declared public like every other route (a test checks)."""
    if "static" not in app.view_functions:  # pragma: no cover - the app has a static folder
        return

    @permissions.public
    def static(filename: str) -> Response:
        return app.send_static_file(filename)

    app.view_functions["static"] = static


def _register_blueprints(app: Flask) -> None:
    import surveys.scoring  # noqa: F401  (rescoring listens for rubric publication)
    from accounts import sharing
    from accounts.views import bp as accounts_bp
    from reports.quality_views import bp as quality_bp
    from reports.views import bp as reports_bp
    from rubrics.views import bp as rubrics_bp
    from surveys.cycles.views import bp as cycles_bp
    from surveys.double.views import bp as double_bp
    from surveys.evidence.views import bp as evidence_bp
    from surveys.plan.views import bp as plan_bp
    from surveys.questionnaire.views import bp as questionnaire_bp
    from surveys.review.views import bp as review_bp
    from webapp.views import bp as main_bp
    from webapp.views import ngo_cycles

    sharing.register_cycles(ngo_cycles)  # accounts may not import surveys: tell it here

    app.register_blueprint(main_bp)
    app.register_blueprint(accounts_bp)
    # The features of surveys, each a blueprint of its own, share the /assessments URLs.
    for feature_bp in (questionnaire_bp, cycles_bp, review_bp, plan_bp, evidence_bp, double_bp):
        app.register_blueprint(feature_bp, url_prefix="/assessments")
    app.register_blueprint(reports_bp, url_prefix="/reports")
    app.register_blueprint(rubrics_bp, url_prefix="/rubrics")
    from accounts.people.views import bp as people_bp

    app.register_blueprint(people_bp)
    from surveys.reminders.views import bp as reminders_bp

    app.register_blueprint(reminders_bp, url_prefix="/assessments")
    from accounts.organizations.views import bp as organizations_bp
    from reports.directory import bp as directory_bp

    app.register_blueprint(organizations_bp)
    app.register_blueprint(directory_bp)
    app.register_blueprint(quality_bp, url_prefix="/reports")
    from reports.export_views import bp as exports_bp

    app.register_blueprint(exports_bp, url_prefix="/reports/exports")
    from surveys.imports.views import bp as imports_bp

    app.register_blueprint(imports_bp, url_prefix="/assessments")
    from reports.codebook_views import bp as codebook_bp

    app.register_blueprint(codebook_bp, url_prefix="/codebook")
    from webapp import api

    api.register(app)  # /api/v1 (issue 14)
