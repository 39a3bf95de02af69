"""Extensions, created unbound and initialised by ``create_app``. Feature packages import these."""

from __future__ import annotations

from typing import cast

import sqlmodel
from flask_babel import Babel
from flask_login import LoginManager
from flask_sqlalchemy_lite import SQLAlchemy
from flask_wtf import CSRFProtect

db = SQLAlchemy(session_options={"class_": sqlmodel.Session, "expire_on_commit": False})
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def dbsession() -> sqlmodel.Session:
    """The current app context's session, typed as what it is (``class_=sqlmodel.Session``)."""
    return cast(sqlmodel.Session, db.session)
