"""The people service's refusals in the page language, placed at the form field they concern.

``trellis.runtime.people_admin`` names each problem's field and a stable code; this turns
them into ``{field: [message, …]}`` for the forms (the English text stays for the API).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from trellis.runtime.errors import TrellisError


def _texts() -> dict[str, str]:
    # Built per call: gettext needs the request's language.
    return {
        "required": _("This is required."),
        "bad_username": _(
            "Use 2 to 80 letters, digits and . _ @ - (starting with a letter or digit)."
        ),
        "username_taken": _("This username is taken: choose another one."),
        "bad_email": _("This is not an email address; use the form name@example.com."),
        "bad_phone": _(
            "This is not a valid phone number; use a mobile such as 13812345678, "
            "a landline with area code such as 010-12345678, or +country code."
        ),
        "unknown_department": _("There is no such department."),
        "unknown_user": _("There is no such user."),
        "unknown_role": _("There is no such role."),
        "manager_cycle": _(
            "This manager reports to the user (directly or up the chain): "
            "a user cannot manage their own manager."
        ),
        "bad_time_zone": _("Unknown time zone: choose one from the list, e.g. Asia/Shanghai."),
        "bad_locale": _("Choose a language."),
        "short_password": _("A password needs at least 8 characters."),
        "too_long": _("This is too long."),
        "self_deactivate": _("You cannot deactivate yourself: ask another administrator."),
        "bad_department_name": _(
            "Use 2 to 40 lower-case letters, digits and _ (starting with a letter)."
        ),
        "department_taken": _("A department with this API name exists."),
        "department_cycle": _(
            "A department cannot move under itself or one of its own sub-departments."
        ),
        "inactive_head": _("A deactivated user cannot head a department."),
    }


def field_errors(exc: TrellisError) -> dict[str, list[str]]:
    """The refusal's problems per form field, in the page language."""
    texts = _texts()
    errors: dict[str, list[str]] = {}
    for detail in exc.details:
        if isinstance(detail, dict) and detail.get("field"):
            text = texts.get(detail.get("code"), detail.get("message", ""))
            errors.setdefault(detail["field"], []).append(_with_value(text, detail))
    return errors


def summary(exc: TrellisError) -> str:
    """All problems in one sentence (for a flash or a JSON answer)."""
    found = field_errors(exc)
    return " ".join(m for messages in found.values() for m in messages) or exc.message


def _with_value(text: str, detail: dict[str, Any]) -> str:
    value = detail.get("value")
    if detail.get("field") == "roles" and value:
        return f"{text} ({value})"
    return text
