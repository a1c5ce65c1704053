"""Text-like field types: text, long text, email, phone, url."""

from __future__ import annotations

import re

import phonenumbers
import sqlalchemy as sa
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

from trellis.expressions import ExprType
from trellis.fieldtypes.base import FieldLike, FieldType, FieldValueError
from trellis.fieldtypes.registry import register

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# A mainland mobile number, optionally with +86/0086, by libphonenumber's own CN mobile
# pattern, so the fast path accepts exactly the numbers the full parse would.
_CN_MOBILE = re.compile(
    r"^(?:\+?86|0086)?("
    + phonenumbers.PhoneMetadata.metadata_for_region("CN").mobile.national_number_pattern
    + ")$"
)
_SEPARATORS = re.compile(r"[\s\-()]")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def _text(value, field: FieldLike, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldValueError(f"expected text, got {type(value).__name__}; send a JSON string")
    value = value.strip()
    if value == "":
        return None
    # SQLite does not enforce VARCHAR(n), so Trellis checks length itself.
    if len(value) > limit:
        raise FieldValueError(f"is {len(value)} characters long; at most {limit} are allowed")
    return value


class _Text(FieldType):
    expr_type = ExprType.TEXT
    default_length = 255

    def length(self, field: FieldLike) -> int:
        return int(field.options.get("length", self.default_length))

    def column_type(self, field):
        return sa.String(self.length(field))

    def parse(self, value, field):
        return _text(value, field, self.length(field))

    def widening(self, old, new):
        a, b = self.length(old), self.length(new)
        return None if a == b else ("widen" if b > a else "narrow")

    def narrowing_check(self, column, new):
        return sa.func.length(column) > self.length(new)


@register
class Text(_Text):
    name = "text"
    options_schema = {"length": {"type": "integer", "minimum": 1, "maximum": 4000}}
    openapi = {"type": "string", "maxLength": 255}


@register
class LongText(_Text):
    name = "long_text"
    default_length = 100_000
    options_schema = {"length": {"type": "integer", "minimum": 1, "maximum": 1_000_000}}

    def column_type(self, field):
        return sa.Text()

    def widening(self, old, new):
        return None  # TEXT columns have no length; the limit is checked on write


@register
class Email(_Text):
    name = "email"
    openapi = {"type": "string", "format": "email"}

    def parse(self, value, field):
        value = super().parse(value, field)
        if value is not None and not _EMAIL.match(value):
            raise FieldValueError(
                f"{value!r} is not an email address; use the form name@example.com"
            )
        return value.lower() if value else value


@register
class Url(_Text):
    name = "url"
    default_length = 1000
    openapi = {"type": "string", "format": "uri"}

    def parse(self, value, field):
        value = super().parse(value, field)
        if value is not None and not _URL.match(value):
            raise FieldValueError(
                f"{value!r} is not a web address; start it with http:// or https://"
            )
        return value


@register
class Phone(_Text):
    """Chinese mobile and landline numbers (and international ones with +).

    Stored in E.164 (``+8613812345678``) so the same number typed two ways
    matches in duplicate rules.
    """

    name = "phone"
    default_length = 32

    def parse(self, value, field):
        value = super().parse(value, field)
        if value is None:
            return None
        mobile = _CN_MOBILE.match(_SEPARATORS.sub("", value))
        if mobile:  # the common case, without libphonenumber's full parse (~30 µs)
            return "+86" + mobile.group(1)
        try:
            number = phonenumbers.parse(value, "CN")
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            raise FieldValueError(
                f"{value!r} is not a valid phone number; use a mobile such as 13812345678, "
                "a landline with area code such as 010-12345678, or +country code"
            )
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@register
class CreditCode(_Text):
    """统一社会信用代码: the 18-character unified social credit code of a Chinese
    organisation, checked (including its check character) with python-stdnum."""

    name = "credit_code"
    default_length = 18
    openapi = {"type": "string", "minLength": 18, "maxLength": 18}

    def parse(self, value, field):
        value = super().parse(value, field)
        if value is None:
            return None
        try:
            return uscc.validate(value)
        except ValidationError:
            raise FieldValueError(
                f"{value!r} is not a valid unified social credit code (统一社会信用代码): "
                "18 characters, digits and capital letters, with a correct check character"
            ) from None
