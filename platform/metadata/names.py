"""Identifier rules for api_names (architecture.md, decision 3).

Physical table and column names are derived from api_names and never
change, so an api_name must be safe as an SQL identifier on every database,
as a Python name, and as a URL segment, and must not collide with the
columns and routes the platform itself uses.
"""

from __future__ import annotations

import keyword
import re

from pypinyin import lazy_pinyin

API_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")

#: Columns every record table has; fields may not reuse these names.
SYSTEM_FIELDS = (
    "id",
    "owner",
    "department",
    "record_type",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
    "version",
)

#: Words reserved by SQL (SQL:2016 reserved words that PostgreSQL or SQLite treat
#: specially), and names our routes and query parameters use.
SQL_RESERVED = frozenset(
    """
all analyse analyze and any array as asc asymmetric authorization between binary both case cast
check collate collation column concurrently constraint create cross current_catalog current_date
current_role current_schema current_time current_timestamp current_user default deferrable desc
distinct do else end except exists false fetch for foreign freeze from full grant group having
ilike in initially inner intersect into is isnull join lateral leading left like limit localtime
localtimestamp natural not notnull null offset on only or order outer overlaps placing primary
references returning right select session_user similar some symmetric system_user table tablesample
then to trailing true union unique user using variadic verbose when where window with abort action
add after alter attach autoincrement before begin by cascade commit conflict database deferred
delete detach drop each escape exclusive explain fail glob if ignore immediate index indexed
insert instead key match no nothing of offset plan pragma query raise recursive regexp reindex
release rename replace restrict row rows rollback savepoint set temp temporary transaction
trigger update vacuum values view virtual without
""".split()
)

PLATFORM_RESERVED = frozenset(
    {
        "records",
        "fields",
        "objects",
        "approvals",
        "describe",
        "openapi",
        "api",
        "auth",
        "token",
        "filter",
        "sort",
        "limit",
        "cursor",
        "total",
        "self",
        "none",
        "trellis",
        "rowid",
        "oid",
        "ctid",
        "xmin",
        "xmax",
    }
)

#: Prefixes the platform keeps for its own tables and hidden columns.
RESERVED_PREFIXES = ("trellis_", "pg_", "sqlite_", "dup_", "rec_")


def name_problem(name: str, what: str = "name") -> str | None:
    """Return why ``name`` cannot be an api_name, or None when it can."""
    if not isinstance(name, str) or not API_NAME.match(name):
        return (
            f"{what} {name!r} must start with a lowercase letter and use only lowercase letters, "
            "digits and underscores (2-40 characters), for example 'contract_amount'"
        )
    if name in SYSTEM_FIELDS:
        return f"{what} {name!r} is a system field every object already has; choose another name"
    if name in SQL_RESERVED or keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return (
            f"{what} {name!r} is a reserved word in SQL or Python; add a word, e.g. '{name}_value'"
        )
    if name in PLATFORM_RESERVED:
        return f"{what} {name!r} is used by the platform itself; choose another name"
    if name.startswith(RESERVED_PREFIXES):
        prefixes = ", ".join(RESERVED_PREFIXES)
        return f"{what} {name!r} starts with a prefix the platform keeps ({prefixes})"
    if "__" in name or name.endswith("_"):
        return f"{what} {name!r} may not contain double underscores or end with one"
    return None


def name_from_label(label: str, taken: set[str] | frozenset[str], prefix: str = "") -> str:
    """A free api_name for a component an end user named in words, often Chinese.

    Chinese becomes pinyin (全员展会线索 -> quan_yuan_zhan_hui_xian_suo), anything else
    that is not a letter or digit becomes ``_``; ``prefix`` starts the name (``view_``).
    The name is numbered (``_2``, ``_3``...) until it is not in ``taken`` and passes
    ``name_problem``, so a label made only of symbols still gets a name.
    """
    words = "_".join(lazy_pinyin(label.strip().lower()))
    words = re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_")
    base = f"{prefix}{words}".strip("_")[:36].rstrip("_") or "item"
    if not base[0].isalpha():
        base = f"n_{base}"[:36]
    candidate, n = base, 1
    while candidate in taken or name_problem(candidate):
        n += 1
        candidate = f"{base}_{n}"
    return candidate


def table_name(object_name: str) -> str:
    """The physical table of an object; fixed forever once created."""
    return f"rec_{object_name}"
