"""Security headers on every response; cross-site requests refused; cookies and transport.

- Every state-changing request (POST, PUT, PATCH, DELETE) whose ``Origin`` is another site's,
  or that the browser marks ``Sec-Fetch-Site: cross-site``, is refused with 403 before anything
  else runs (the CSRF token is checked after, by Flask-WTF): a valid token does not make a
  request from https://evil.example acceptable. ``TRUSTED_ORIGINS`` lists other origins that
  may post (e.g. the public address when a proxy rewrites the host).
- A failed state-changing request that came without a session cookie gets none: a cross-site
  form post arrives without the person's cookie (SameSite=Lax), and a fresh cookie in its
  answer would replace theirs and log them out.
- ``HTTPS`` (``EVALUATOR_HTTPS``; on by default outside debug and testing): Secure cookies and
  HSTS. ``TRUSTED_PROXIES``: how many reverse proxies' X-Forwarded-* headers to believe.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_babel import gettext
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

# No inline script anywhere: charts read their figure from <script type="application/json">.
# Plotly sets inline styles on its SVG, hence style-src 'unsafe-inline' (styles cannot run code).
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def https_enabled(app: Flask) -> bool:
    """The ``HTTPS`` setting; unset, on except in debug and testing."""
    setting = app.config.get("HTTPS")
    if setting is None:
        return not (app.debug or app.testing)
    if isinstance(setting, str):
        return setting.strip().lower() in {"1", "true", "yes", "on"}
    return bool(setting)


class QuietSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, which never hands a new cookie to a failed,
    state-changing request that came without one."""

    def save_session(self, app: Flask, session: SessionMixin, response: Any) -> None:
        if (
            request.method not in SAFE_METHODS
            and response.status_code >= 400
            and self.get_cookie_name(app) not in request.cookies
        ):
            return
        super().save_session(app, session, response)


def own_origin() -> str:
    return f"{request.scheme}://{request.host}".lower()


def cross_site(trusted: frozenset[str]) -> bool:
    """Whether this request was sent by another site's page (``trusted``: lower-case origins
    without a trailing slash)."""
    origin = request.headers.get("Origin")
    if origin is not None:
        origin = origin.strip().rstrip("/").lower()
        return origin != own_origin() and origin not in trusted
    return request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site"


def configure(app: Flask) -> None:
    """Cookie flags and the proxy fix (before the first request)."""
    secure = https_enabled(app)
    app.config["HTTPS"] = secure
    app.config["SESSION_COOKIE_SECURE"] = secure
    app.config["REMEMBER_COOKIE_SECURE"] = secure
    app.session_interface = QuietSessionInterface()
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )


def register(app: Flask) -> None:
    configure(app)
    trusted = frozenset(
        str(o).strip().rstrip("/").lower() for o in app.config.get("TRUSTED_ORIGINS") or ()
    )

    def _refuse_cross_site() -> tuple[str, int] | None:
        if request.method in SAFE_METHODS:
            return None
        if request.path.startswith("/api/"):  # a token authenticates it, never a cookie
            return None
        if not cross_site(trusted):
            return None
        from webapp.errors import render_error

        return render_error(
            403,
            gettext(
                "This form was sent from another website, so it was refused. If you meant to "
                "send it, open this site's page yourself and send the form from there."
            ),
        )

    # First of all the checks, before the CSRF token's: refused whatever the token.
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_cross_site)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        if app.config["HTTPS"]:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
