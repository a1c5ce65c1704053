"""api_names made from what a user typed: pinyin for Chinese, numbered when taken."""

from __future__ import annotations

import pytest

from trellis.metadata.names import name_from_label, name_problem


@pytest.mark.parametrize(
    ("label", "prefix", "expected"),
    [
        ("全员展会线索", "view_", "view_quan_yuan_zhan_hui_xian_suo"),
        ("Open Pipeline!", "view_", "view_open_pipeline"),
        ("2024年目标", "", "n_2024_nian_mu_biao"),
        ("<script>", "", "script"),
        ("！！！", "", "item"),
        ("view", "", "view_2"),  # a reserved word gets a number
    ],
)
def test_a_label_becomes_a_valid_api_name(label, prefix, expected):
    name = name_from_label(label, set(), prefix)
    assert name == expected
    assert name_problem(name) is None


def test_a_taken_name_is_numbered_and_long_labels_are_cut_to_forty_characters():
    assert name_from_label("商机", {"shang_ji", "shang_ji_2"}) == "shang_ji_3"
    long = name_from_label("销售" * 40, set(), "view_")
    assert len(long) <= 40 and name_problem(long) is None
