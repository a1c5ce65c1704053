"""Every string of the page chrome has a zh-CN translation (labels come from metadata)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.support import Translations

import trellis.admin_ui
import trellis.web
from trellis.web.i18n import compile_catalogs

WEB = Path(trellis.web.__file__).parent
#: The admin app shares the pages' catalog (its strings are in admin.po there).
ADMIN_UI = Path(trellis.admin_ui.__file__).parent
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}


def chrome_strings(folder: Path = WEB) -> set[str]:
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(folder), METHODS, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_page_string_is_translated_into_chinese(tmp_path):
    strings = chrome_strings()
    assert "Sign in" in strings and "Save anyway" in strings  # the extraction sees the pages
    admin = chrome_strings(ADMIN_UI)
    assert "Installed packs" in admin and "Keep mine" in admin  # … and the admin app
    strings |= admin
    catalog = Translations.load(compile_catalogs(str(tmp_path)), ["zh_Hans_CN"])
    untranslated = sorted(s for s in strings if catalog.gettext(s) == s and s != "Trellis")
    assert not untranslated, f"add these to translations/zh_CN/LC_MESSAGES/*.po: {untranslated}"


def test_no_string_is_translated_two_ways():
    """The catalogs are merged into one (``trellis.web.i18n``), so a string two catalogs
    translate differently shows one of them at random places: the same words must read the
    same everywhere, and words that mean different things need different msgids."""
    from babel.messages.pofile import read_po

    first: dict[str, tuple[str, str]] = {}
    clashes = []
    for po in sorted((WEB / "translations" / "zh_CN" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as source:
            for message in read_po(source):
                msgid = message.id if isinstance(message.id, str) else message.id[0]
                text = message.string if isinstance(message.string, str) else message.string[0]
                if not msgid:
                    continue
                seen = first.setdefault(msgid, (po.name, text))
                if seen[1] != text:
                    clashes.append(f"{msgid!r}: {seen[0]} {seen[1]!r} vs {po.name} {text!r}")
    assert not clashes, "translated two ways:\n" + "\n".join(clashes)
