"""What a refused write says to the user of a page (kanban moves, bulk actions, pools).

The records service and the flow engine refuse with the runtime's errors; these are
their messages as the pages show them: in the user's language where the page knows the
reason, the validation rules' own (already translated) messages where rules refused.
"""

from __future__ import annotations

from flask_babel import gettext as _

from trellis.runtime.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    StaleVersion,
    TrellisError,
)


def refusal_message(exc: TrellisError) -> str:
    if isinstance(exc, StaleVersion):
        return _("Someone changed this record meanwhile: reload the page and try again.")
    if exc.code == "record_locked":
        return _("This record is locked while its approval is pending.")
    if isinstance(exc, NotFound):
        return _("This record does not exist or you may not see it.")
    if isinstance(exc, Forbidden):
        return _("You may not change this record.")
    if isinstance(exc, Invalid) and exc.details:
        return "；".join(d["message"] for d in exc.details if d.get("message")) or exc.message
    return exc.message


def pool_refusal(exc: TrellisError, pool_label: str | None) -> str:
    """Why a record did not go into a pool (move or release); ``pool_label``: the pool chosen.

    The engine refuses with Invalid when the pool's condition does not take the record (or
    no pool does), Conflict when it is in a pool already.
    """
    if isinstance(exc, Invalid) and not exc.details:
        if pool_label:
            return _(
                "%(pool)s does not take this record (its condition does not hold): "
                "choose another pool.",
                pool=pool_label,
            )
        return _("No pool takes this record: choose one, or ask an administrator.")
    if isinstance(exc, Conflict):
        return _("This record has no owner: it is in a pool already.")
    return refusal_message(exc)
