"""Sandbox escapes, Python statements and oversized expressions are refused, and nothing runs."""

from __future__ import annotations

import pytest

from trellis.expressions import ExpressionError, ExprType, Limits, compile_expression

ESCAPES = [
    # (source, words the message must contain, position)
    ("__import__('os')", "Names starting with _ are not allowed", 0),
    ("__builtins__", "Names starting with _ are not allowed", 0),
    ("amount + _secret", "Names starting with _ are not allowed", 9),
    ("().__class__", "Attribute access is not allowed (`().__class__` at character 1)", 0),
    ("x.__class__.__bases__", "Attribute access is not allowed", 0),
    ("1 + x.__class__", "Attribute access is not allowed (`x.__class__` at character 5)", 4),
    ("name.upper()", "Only built-in functions can be called", 0),
    ("'{}'.format(name)", "Only built-in functions can be called", 0),
    ("True.real", "Attribute access is not allowed", 0),
    ("account.grade.__len__", "Attribute access is not allowed", 0),
    ("account.owner", "Attribute access is not allowed", 0),
    ("name[0]", "Indexing with [] is not allowed", 0),
    ("[x for x in y]", "Comprehensions are not allowed", 0),
    ("{k: 1 for k in y}", "Comprehensions are not allowed", 0),
    ("LEN(c for c in name)", "Comprehensions are not allowed", 3),
    ("lambda: 1", "Lambda functions are not allowed", 0),
    ("f'{name}'", "f-strings are not allowed", 0),
    ("ROUND(*x)", "Unpacking with * is not allowed", 6),
    ("ROUND(amount, digits=2)", "Named arguments are not allowed", 14),
    ("(a := 1)", "Assignment with := is not allowed", 1),
    ("a := 1", "Assignment with := is not allowed", 2),
    ("x is None", "The operator `is` is not allowed", 0),
    ("amount // 2", "The operator `//` is not allowed", 0),
    ("is_won & is_vip", "write `and`", 0),
    ("~amount", "The operator `~` is not allowed", 0),
    ("{'a': 1}", "Dictionaries are not allowed", 0),
    ("{1, 2}", "Sets are not allowed", 0),
    ("[1, 2]", "Lists are only allowed after `in`", 0),
    ("status in name", "After `in` write a list of constants", 10),
    ("status in (name, 'a')", "may only hold constants", 11),
    ("await x", "`await` is not allowed", 0),
    ("b'bytes'", "This kind of literal is not allowed", 0),
    ("1j", "This kind of literal is not allowed", 0),
    ("...", "This kind of literal is not allowed", 0),
    ("getattr(name, '__class__')", "Unknown function `getattr`", 0),
    ("eval('1')", "Unknown function `eval`", 0),
    ("9**9**9", "exponent 387420489 is too large", 0),
    ("2 ** 1000", "exponent 1000 is too large", 0),
    ("'a'*10**9", "text and cannot be multiplied", 0),
    ("name * 1000000", "text and cannot be multiplied", 0),
    ("'%s' % name", "cannot be used with %", 0),
]

STATEMENTS = [
    ("import os", "a formula is one expression, not a statement"),
    ("from os import system", "a formula is one expression, not a statement"),
    ("a = 1", "write == instead of ="),
    ("status = 'new'", "write == instead of ="),
    ("del amount", "a formula is one expression, not a statement"),
    ("1\nimport os", "a formula is one expression, not a statement"),
    ("def f(): pass", "a formula is one expression, not a statement"),
]


@pytest.mark.parametrize(
    ("source", "fragment", "position"), ESCAPES, ids=[case[0] for case in ESCAPES]
)
def test_escape_is_refused_with_its_position(names, source, fragment, position):
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source, {**names, "x": ExprType.ANY, "y": ExprType.ANY})
    error = caught.value
    assert fragment in error.message
    assert error.position == position
    assert error.source == source
    assert str(error) == error.message


@pytest.mark.parametrize(("source", "fragment"), STATEMENTS)
def test_statements_are_refused(names, source, fragment):
    with pytest.raises(ExpressionError, match=fragment):
        compile_expression(source, names)


def test_nothing_executes_while_compiling_or_evaluating(names, values, now, tmp_path):
    marker = tmp_path / "escaped"
    attempts = [
        f"__import__('os').system('touch {marker}')",
        f"().__class__.__base__.__subclasses__()[0]('touch {marker}')",
        f'exec(\'open("{marker}", "w")\')',
        f"[open('{marker}', 'w') for _ in (1,)]",
        f"(lambda: open('{marker}', 'w'))()",
    ]
    for source in attempts:
        with pytest.raises(ExpressionError):
            compile_expression(source, names).evaluate(values, now=now)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("1000000000000000001", "too large"),
        ("-1000000000000000001", "too large"),
        ("1" * 30 + ".5", "too large"),
        ("1e400", "too large"),
        ("0x" + "f" * 40, "too large"),
        ("'" + "a" * 1001 + "'", "at most 1000 characters"),
    ],
)
def test_huge_literals_are_refused(names, source, fragment):
    with pytest.raises(ExpressionError, match=fragment) as caught:
        compile_expression(source, names)
    assert caught.value.position in (0, 1)


def test_largest_literals_are_accepted(names, values, now):
    assert compile_expression("1000000000000000000", names).evaluate(values, now=now) == 10**18
    text = "'" + "a" * 1000 + "'"
    assert len(compile_expression(text, names).evaluate(values, now=now)) == 1000


def test_too_long_source_is_refused(names):
    source = "amount + " * 250 + "1"
    with pytest.raises(ExpressionError, match="limit is 2000") as caught:
        compile_expression(source, names)
    assert caught.value.position == 2000


def test_max_length_is_set_per_call(names):
    with pytest.raises(ExpressionError, match="limit is 10"):
        compile_expression("amount + 12345", names, max_length=10)


@pytest.mark.parametrize(
    "source",
    ["1 + " * 40 + "1", "-" * 40 + "1", "not " * 40 + "True", "IF(True, " * 40 + "1" + ", 0)" * 40],
)
def test_too_deep_nesting_is_refused(names, source):
    with pytest.raises(ExpressionError, match="nested more than 32 levels"):
        compile_expression(source, names)


def test_deep_nesting_that_python_itself_cannot_parse_is_refused(names):
    with pytest.raises(ExpressionError, match="nested"):
        compile_expression("-" * 5000 + "1", names, max_length=10_000)


def test_too_many_nodes_are_refused(names):
    source = "status in (" + ", ".join(["'a'"] * 1200) + ")"
    with pytest.raises(ExpressionError, match="more than 1000 parts"):
        compile_expression(source, names, max_length=20_000)


def test_limits_are_per_call_not_global(names):
    strict = Limits(max_depth=3, max_exponent=2)
    with pytest.raises(ExpressionError, match="nested more than 3"):
        compile_expression("1 + 2 + 3 + 4", names, limits=strict)
    with pytest.raises(ExpressionError, match="exponent 3"):
        compile_expression("2 ** 3", names, limits=strict)
    # The default limits are untouched by the stricter set above.
    assert compile_expression("1 + 2 + 3 + 4 + 2 ** 3", names).result_type is ExprType.NUMBER


def test_limits_cannot_exceed_simpleeval_ceilings():
    with pytest.raises(ValueError, match="MAX_POWER"):
        Limits(max_exponent=10**9)
    with pytest.raises(ValueError, match="MAX_STRING_LENGTH"):
        Limits(max_text_result=10**9)


@pytest.mark.parametrize(
    ("source", "position"),
    [("amount +* 2", 8), ("(amount", 0), ("'abc", 0), ("amount +", 8), ("", 0), ("   ", 0)],
)
def test_syntax_errors_say_where(names, source, position):
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source, names)
    assert caught.value.position == position


def test_positions_count_characters_not_bytes(names):
    source = "'客户名称' + name + amount.__class__"
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source, names)
    assert caught.value.position == source.index("amount.__class__")


def test_leading_blanks_and_line_breaks_are_fine(names, values, now):
    source = "  \n  IF(amount > 0,\n     'positive',\n     'not positive')"
    assert compile_expression(source, names).evaluate(values, now=now) == "positive"
    with pytest.raises(ExpressionError) as caught:
        compile_expression("  amout", names)
    assert caught.value.position == 2


def test_source_must_be_text(names):
    with pytest.raises(TypeError):
        compile_expression(b"1", names)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "position"), [(r"'\d'", 1), (r"name + 'C:\path'", 10), (r"'客户' + '\q'", 8)]
)
def test_unknown_backslash_escapes_are_refused_the_same_everywhere(names, source, position):
    # Python 3.11 only warns about these; the outcome must not depend on warning filters.
    with pytest.raises(ExpressionError, match="not a valid escape") as caught:
        compile_expression(source, names)
    assert caught.value.position == position


@pytest.mark.parametrize(
    ("source", "expected"), [(r"'a\\d'", "a\\d"), (r"r'\d'", "\\d"), (r"'\t\x41\u4e2d'", "\tA中")]
)
def test_valid_escapes_and_raw_strings_are_accepted(names, values, now, source, expected):
    assert compile_expression(source, names).evaluate(values, now=now) == expected
