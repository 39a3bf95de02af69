"""The composition root: configuration, security headers, error pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from webapp import ConfigurationError, create_app
from webapp.config import DEV_SECRET_KEY, normalise_database_url


def test_refuses_to_start_in_production_with_the_development_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    monkeypatch.setattr("webapp._load_instance_secret", lambda app: None)
    with pytest.raises(ConfigurationError, match="development SECRET_KEY"):
        create_app()


def test_starts_in_production_with_a_secret_key_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-from-the-environment")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    app = create_app()
    assert app.config["SECRET_KEY"] != DEV_SECRET_KEY
    assert app.config["DATABASE_URL"].endswith("x.sqlite3")


def test_postgres_urls_use_the_psycopg_driver():
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x") == "sqlite:///x"


def test_security_headers_forbid_inline_script_and_framing(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_session_cookie_is_httponly_and_samesite_lax(client, make_user, login_as):
    user = make_user()
    response = login_as(client, user.email)
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_unknown_url_gets_a_clear_404_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert "Not found" in text
    assert "Traceback" not in text


def test_an_unexpected_error_gets_a_500_page_without_traceback(app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = client.get("/boom")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "Something went wrong" in text
    assert "secret internals" not in text
    assert "Traceback" not in text


def test_too_large_upload_gets_a_413_page(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/login", data={"email": "x" * 4000})
    assert response.status_code == 413
    assert "larger than the limit" in response.get_data(as_text=True)


def test_forbidden_gets_a_403_page(app, client):
    from flask import abort

    @app.route("/forbidden")
    def forbidden():
        abort(403)

    response = client.get("/forbidden")
    assert response.status_code == 403
    assert "You do not have access to this" in response.get_data(as_text=True)


def test_plotly_js_is_served_by_the_app_itself(client):
    response = client.get("/reports/vendor/plotly.min.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert len(response.get_data()) > 1_000_000
    response.close()


def test_connections_are_set_up_for_their_backend(app, backend):
    """SQLite: WAL, foreign keys and a busy timeout on every connection. PostgreSQL: the
    psycopg 3 driver, and foreign keys (always on there)."""
    from webapp.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        if backend == "sqlite":
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
        else:
            assert db.engine.dialect.name == "postgresql"
            assert db.engine.dialect.driver == "psycopg"


def test_no_two_template_folders_hold_a_template_of_the_same_name(app):
    """Flask searches the app's and every blueprint's template folder in turn, and the first
    match wins: a name in two folders would silently show the wrong page."""
    folders = [Path(app.root_path) / app.template_folder] if app.template_folder else []
    for blueprint in app.blueprints.values():
        if blueprint.template_folder:
            folders.append(Path(blueprint.root_path) / blueprint.template_folder)
    seen: dict[str, Path] = {}
    for folder in folders:
        for path in folder.rglob("*.html"):
            name = path.relative_to(folder).as_posix()
            assert name not in seen, f"{name} is in {seen.get(name)} and in {folder}"
            seen[name] = folder
    # Every package's templates sit in a folder named after it (STYLE.md 7).
    assert {name.split("/")[0] for name in seen} >= {
        "questionnaire",
        "cycles",
        "review",
        "plan",
        "reports",
        "rubrics",
    }


def test_dates_and_moments_are_shown_one_way_in_the_viewers_language(app):
    """Issue 10, section 5: one format for dates and one for moments, in the viewer's language,
    machine-readable in a <time> element; a dash for none."""
    from datetime import date, datetime

    from flask import render_template_string
    from flask_babel import force_locale

    template = "{{ d|day }} | {{ m|moment }} | {{ none|day }}"
    values = {"d": date(2026, 12, 7), "m": datetime(2026, 12, 7, 18, 5), "none": None}
    with app.test_request_context():
        english = render_template_string(template, **values)
        with force_locale("el"):
            greek = render_template_string(template, **values)
    assert english.startswith('<time datetime="2026-12-07">Dec 7, 2026</time>')
    moment = english.split(" | ")[1]
    assert moment.startswith('<time datetime="2026-12-07T18:05:00">Dec 7, 2026, 6:05:00')
    assert english.endswith("| \u2013")
    assert greek.startswith('<time datetime="2026-12-07">7 Δεκ 2026</time>')
