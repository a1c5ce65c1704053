"""Number field types: integer, decimal, currency, percent. Money is Decimal, never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

import sqlalchemy as sa

from trellis.expressions import ExprType
from trellis.fieldtypes.base import FieldType, FieldValueError
from trellis.fieldtypes.registry import register

_INT_LIMIT = 2**63 - 1


@register
class Integer(FieldType):
    name = "integer"
    expr_type = ExprType.NUMBER
    options_schema = {"minimum": {"type": "number"}, "maximum": {"type": "number"}}
    openapi = {"type": "integer"}

    def column_type(self, field):
        return sa.BigInteger()

    def parse(self, value, field):
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise FieldValueError("expected a whole number, got true/false")
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise FieldValueError(f"{value!r} is not a whole number") from None
        if isinstance(value, float):
            if not value.is_integer():
                raise FieldValueError(f"{value} is not a whole number")
            value = int(value)
        if not isinstance(value, int):
            raise FieldValueError(f"expected a whole number, got {type(value).__name__}")
        if abs(value) > _INT_LIMIT:
            raise FieldValueError("is too large; whole numbers go up to 9223372036854775807")
        return _check_bounds(value, field)


def _check_bounds(value, field):
    low, high = field.options.get("minimum"), field.options.get("maximum")
    if low is not None and value < Decimal(str(low)):
        raise FieldValueError(f"must be at least {low}")
    if high is not None and value > Decimal(str(high)):
        raise FieldValueError(f"must be at most {high}")
    return value


class _Decimal(FieldType):
    expr_type = ExprType.NUMBER
    default_precision, default_scale = 18, 2
    options_schema = {
        "precision": {"type": "integer", "minimum": 1, "maximum": 38},
        "scale": {"type": "integer", "minimum": 0, "maximum": 18},
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
    }
    openapi = {"type": "string", "format": "decimal", "example": "1234.50"}

    def shape(self, field) -> tuple[int, int]:
        return (
            int(field.options.get("precision", self.default_precision)),
            int(field.options.get("scale", self.default_scale)),
        )

    def column_type(self, field):
        precision, scale = self.shape(field)
        return sa.Numeric(precision, scale, asdecimal=True)

    def parse(self, value, field):
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            raise FieldValueError(f"expected a number, got {type(value).__name__}")
        try:
            number = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            raise FieldValueError(f"{value!r} is not a number") from None
        if not number.is_finite():
            raise FieldValueError("must be a finite number")
        precision, scale = self.shape(field)
        too_large = FieldValueError(
            f"is too large; at most {precision - scale} digits before the point"
        )
        if number.adjusted() >= precision - scale:  # before quantize, which fails on 1e400
            raise too_large
        # Enough digits for NUMERIC(38, s): the default context (28) would fail on them.
        number = number.quantize(
            Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP, context=Context(prec=precision + 2)
        )
        if number.adjusted() >= precision - scale:  # rounding carried: 99.995 -> 100.00
            raise too_large
        return _check_bounds(number, field)

    def to_json(self, value):
        return None if value is None else str(value)

    def widening(self, old, new):
        (p1, s1), (p2, s2) = self.shape(old), self.shape(new)
        if (p1, s1) == (p2, s2):
            return None
        return "widen" if s2 >= s1 and p2 - s2 >= p1 - s1 else "narrow"

    def narrowing_check(self, column, new):
        precision, scale = self.shape(new)
        return sa.func.abs(column) >= Decimal(10) ** (precision - scale)


@register
class DecimalType(_Decimal):
    name = "decimal"


@register
class Currency(_Decimal):
    """Money. ``currency`` names the ISO code (CNY unless said otherwise)."""

    name = "currency"
    options_schema = {
        **_Decimal.options_schema,
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
    }


@register
class Percent(_Decimal):
    """A percentage as typed: 30 means 30 %; formulas divide by 100 themselves."""

    name = "percent"
    default_precision, default_scale = 7, 2
