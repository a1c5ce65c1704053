"""Languages of the pages: zh-CN and en.

The page chrome's strings are English msgids translated in
``translations/zh_CN/LC_MESSAGES/*.po`` (Flask-Babel): one file per area of the pages
(``messages.po`` for the chrome, lists, records and forms; ``approvals.po``,
``reports.po`` …), merged into one catalog when the app starts and compiled to ``.mo`` in
the instance folder, so no build step has to remember it. Labels come from the metadata
in the viewer's language. A page follows the language the user chose (stored on the
user), then the browser's ``Accept-Language``.
"""

from __future__ import annotations

import os
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, request, session

from trellis.metadata import Label

LOCALES = ("zh-CN", "en")
SOURCE = Path(__file__).parent / "translations"


def compile_catalogs(instance_folder: str) -> str:
    """Merge each language's ``*.po`` files into one ``messages.mo`` under
    ``<instance>/translations``; return that folder."""
    target = Path(instance_folder) / "translations"
    for folder in SOURCE.glob("*/LC_MESSAGES"):
        sources = sorted(folder.glob("*.po"))
        # Flask-Babel looks for the parsed locale's name: zh_CN parses as zh_Hans_CN.
        language = str(Locale.parse(folder.parent.name))
        mo = target / language / "LC_MESSAGES" / "messages.mo"
        newest = max((po.stat().st_mtime for po in sources), default=0)
        if mo.exists() and mo.stat().st_mtime >= newest:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        catalog = _merged(sources)
        partial = mo.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as out:
            write_mo(out, catalog)
        partial.replace(mo)  # another process starting at the same time never reads half a file
    return str(target)


def _merged(sources: list[Path]):
    catalog = None
    for po in sources:
        with po.open("rb") as source:
            part = read_po(source)
        if catalog is None:
            catalog = part
            continue
        for message in part:
            if message.id and message.string:
                catalog[message.id] = message
    return catalog


def page_locale() -> str:
    """``zh-CN`` or ``en`` for this request."""
    ctx = g.get("ctx")
    if ctx is not None:
        return ctx.locale
    return session.get("locale") or browser_locale()


def browser_locale() -> str:
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    return "en" if best == "en" else "zh-CN"


def babel_locale() -> str:
    """Flask-Babel's name for the page locale (``zh_CN`` or ``en``)."""
    return page_locale().replace("-", "_")


def page_timezone() -> str | None:
    ctx = g.get("ctx")
    return ctx.principal.time_zone if ctx is not None else None


def label(value, locale: str | None = None) -> str:
    """A metadata label (``Label`` or ``{"zh-CN": …, "en": …}``) in the page language."""
    if value is None:
        return ""
    locale = locale or page_locale()
    if isinstance(value, Label):
        return value.get(locale)
    if isinstance(value, dict):
        return value.get(locale) or value.get("zh-CN") or value.get("en") or ""
    return str(value)


def configure(app: Flask) -> None:
    from flask_babel import Babel

    app.config["BABEL_TRANSLATION_DIRECTORIES"] = compile_catalogs(app.instance_path)
    Babel(app, locale_selector=babel_locale, timezone_selector=page_timezone)
    app.jinja_env.globals["label"] = label
    app.jinja_env.globals["page_locale"] = page_locale
