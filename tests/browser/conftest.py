"""Browser tests: Playwright drives Debian's Chromium against a live server in a thread.

The live app uses a real SQLite file migrated with Alembic and loaded with the demo data, as
`make run` does. Under CI=true a missing Chromium is a failure, never a skip.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from webapp import create_app, demo
from webapp.extensions import db
from webapp.migrate import upgrade_database

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message + " (CI=true: a missing browser is a failure)")
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def live_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live")


@pytest.fixture(scope="session")
def live_database_url(live_folder: Path) -> str:
    """The live server's SQLite file: migrated by Alembic, as `make run` does."""
    return f"sqlite:///{live_folder / 'live.sqlite3'}"


@pytest.fixture(scope="session")
def live_server(live_folder: Path, live_database_url: str) -> Iterator[str]:
    folder, url = live_folder, live_database_url
    built: list[Any] = []

    def build() -> None:
        # In a thread of its own: Playwright's sync API runs an event loop in the main thread,
        # and Flask-SQLAlchemy-Lite's app-context teardown cannot run beside it.
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "browser-test-secret",
                "DATABASE_URL": url,
                "UPLOAD_FOLDER": str(folder / "uploads"),
            }
        )
        with app.app_context():
            upgrade_database(url)
            demo.seed(db.session)
            db.session.commit()
        built.append(app)

    builder = threading.Thread(target=build)
    builder.start()
    builder.join()
    if not built:
        pytest.fail("the live app could not be built (see the log above)")
    server = make_server("127.0.0.1", 0, built[0], threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    """Overrides pytest-base-url's fixture (which pytest 9 deprecates) with the live server."""
    return live_server
