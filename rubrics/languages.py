"""Which of a rubric's languages a page shows it in, and the page's language switcher."""

from __future__ import annotations

from babel import Locale
from flask import request
from flask_babel import get_locale

from rubrics.schema import Rubric


def page_language(rubric: Rubric) -> str:
    """The language asked for (``?lang=``, else the interface's), if the rubric has it; else
    the rubric's default language."""
    wanted = request.args.get("lang") or str(get_locale() or "")
    return wanted if wanted in rubric.languages else rubric.default_language


def language_choices(rubric: Rubric) -> list[tuple[str, str]]:
    """The rubric's languages as (code, name in that language), for the page's switcher."""
    choices = []
    for code in rubric.languages:
        try:
            name = Locale.parse(code).get_display_name(code) or code
        except (ValueError, LookupError):
            name = code
        choices.append((code, name[:1].upper() + name[1:]))
    return choices
