"""Generated leads: what a client sends to Trellis, and what ends up in the table.

``LeadFactory.payloads`` makes lead payloads the way an API client sends them (strings for
money and datetimes, a mobile number as typed). Every payload is unique on
company_name + contact_name (the duplicate rule only warns, but a match would add work
that has nothing to do with the benchmark), satisfies the validation rules (mobile or
email; score 0-100; a reason when unqualified) and uses only values of the picklists as
the lead definition lists them.

``LeadFactory.stored`` turns a payload into the column values Trellis stores for it:
E.164 mobile, Decimal money, naive UTC datetimes, the stored formula ``is_key_lead``
and the duplicate match key. The baseline inserts exactly these values, and the
million-row table is loaded with them; ``check_same_values`` in bench_records compares a
record written by Trellis with the row the factory predicts, so the two cannot drift.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
from decimal import Decimal
from typing import Any

_CITIES = [
    "上海",
    "苏州",
    "杭州",
    "南京",
    "宁波",
    "无锡",
    "北京",
    "天津",
    "深圳",
    "广州",
    "成都",
    "重庆",
    "武汉",
    "长沙",
    "青岛",
    "厦门",
    "合肥",
    "西安",
    "沈阳",
    "大连",
]
_CORES = [
    "华盛",
    "恒达",
    "新材",
    "联创",
    "东方",
    "瑞丰",
    "金桥",
    "汇能",
    "博远",
    "科峰",
    "中联",
    "海纳",
    "天合",
    "远航",
    "嘉禾",
    "信达",
    "永盛",
    "宏图",
    "立邦",
    "德力",
]
_KINDS = [
    "化工",
    "电子",
    "汽车零部件",
    "机械",
    "新能源",
    "建材",
    "医疗器械",
    "包装",
    "光伏",
    "家电",
]
_SURNAMES = [
    "王",
    "李",
    "张",
    "刘",
    "陈",
    "杨",
    "黄",
    "赵",
    "吴",
    "周",
    "徐",
    "孙",
    "马",
    "朱",
    "胡",
]
_GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "涛", "明", "超"]
_TITLES = ["采购经理", "技术总监", "总经理", "工程师", "采购专员", "生产经理", None]
_MOBILE_PREFIXES = ["138", "139", "135", "136", "150", "151", "186", "187", "158", "188"]
_REQUIREMENTS = [
    None,
    None,
    "需要耐高温结构胶，月用量约2吨",
    "现有供应商交期不稳定，寻找替代方案",
    "新产线点胶设备选型",
    "Looking for a silicone sealant supplier for the East China plants",
]
_SPACES = re.compile(r"\s+")
_SEPARATOR = "\x1f"
_SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def picklist(lead_definition, name: str) -> list[str]:
    return [v["api_name"] for v in lead_definition.by_name[name].options["values"]]


class LeadFactory:
    def __init__(self, lead_definition, seed: int = 20261122):
        self.seed = seed
        self.sources = picklist(lead_definition, "source")
        self.product_lines = picklist(lead_definition, "product_line")
        self.regions = picklist(lead_definition, "region")
        self.industries = picklist(lead_definition, "industry")
        self.statuses = picklist(lead_definition, "status")
        self.reasons = picklist(lead_definition, "unqualified_reason")
        self.priorities = picklist(lead_definition, "priority")
        assert {"new", "working", "qualified", "unqualified"} <= set(self.statuses)
        self._status_weights = [
            {"new": 35, "working": 30, "qualified": 15, "unqualified": 20}.get(s, 5)
            for s in self.statuses
        ]

    def payloads(self, start: int, count: int) -> list[dict[str, Any]]:
        """Payloads number ``start`` .. ``start + count - 1`` (the number makes them unique)."""
        rng = random.Random(self.seed * 7919 + start)
        return [self._payload(rng, i) for i in range(start, start + count)]

    def _payload(self, rng: random.Random, i: int) -> dict[str, Any]:
        status = rng.choices(self.statuses, self._status_weights)[0]
        has_mobile = rng.random() < 0.85
        has_email = not has_mobile or rng.random() < 0.5
        payload: dict[str, Any] = {
            "company_name": (
                f"{rng.choice(_CITIES)}{rng.choice(_CORES)}{rng.choice(_KINDS)}有限公司 {i:07d}"
            ),
            "contact_name": rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(("", *_GIVEN)),
            "title": rng.choice(_TITLES),
            "mobile": (
                rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}" if has_mobile else None
            ),
            "email": f"lead{i}@example{rng.randrange(100)}.cn" if has_email else None,
            "source": rng.choice(self.sources),
            "product_line": rng.choice(self.product_lines),
            "region": rng.choice(self.regions),
            "industry": rng.choice(self.industries),
            "status": status,
            "unqualified_reason": rng.choice(self.reasons) if status == "unqualified" else None,
            "priority": rng.choice(self.priorities),
            "score": rng.randrange(101) if rng.random() < 0.95 else None,
            "estimated_amount": (
                f"{rng.randrange(5_000, 1_200_000)}.{rng.randrange(100):02d}"
                if rng.random() < 0.9
                else None
            ),
            "requirement": rng.choice(_REQUIREMENTS),
            "last_followed_up_at": (
                f"2026-{rng.randrange(1, 11):02d}-{rng.randrange(1, 29):02d}T"
                f"{rng.randrange(8, 19):02d}:{rng.randrange(60):02d}:00+08:00"
                if rng.random() < 0.5
                else None
            ),
        }
        # A client leaves blank fields out rather than sending nulls.
        return {k: v for k, v in payload.items() if v is not None}

    @staticmethod
    def stored(payload: dict[str, Any]) -> dict[str, Any]:
        """The field columns (no system columns, no lead_number) Trellis stores for ``payload``."""
        get = payload.get
        amount = get("estimated_amount")
        amount = Decimal(amount) if amount is not None else None
        score = get("score")
        followed = get("last_followed_up_at")
        if followed is not None:
            followed = dt.datetime.fromisoformat(followed).astimezone(dt.UTC).replace(tzinfo=None)
        mobile = get("mobile")
        return {
            "company_name": payload["company_name"],
            "contact_name": get("contact_name"),
            "title": get("title"),
            "mobile": "+86" + mobile if mobile is not None else None,
            "email": get("email"),
            "source": get("source"),
            "product_line": get("product_line"),
            "region": get("region"),
            "industry": get("industry"),
            "status": get("status", "new"),
            "unqualified_reason": get("unqualified_reason"),
            "priority": get("priority", "medium"),
            "score": score,
            "estimated_amount": amount,
            "requirement": get("requirement"),
            "last_followed_up_at": followed,
            "is_key_lead": (score if score is not None else 0) >= 80
            or (amount if amount is not None else 0) >= 500000,
            "dup_same_company_contact": match_key(payload["company_name"], get("contact_name")),
        }


def match_key(*values: Any) -> str | None:
    """The duplicate rule's key: NFKC, case folded, whitespace removed, joined."""
    parts = []
    for value in values:
        if value is None or value == "":
            return None
        parts.append(_SPACES.sub("", unicodedata.normalize("NFKC", str(value)).casefold()))
    return _SEPARATOR.join(parts)[:1000]


def lead_number(counter: int, today: dt.date) -> str:
    """The lead definition's pattern LEAD-{YYYY}{MM}-{0000}."""
    return f"LEAD-{today.year:04d}{today.month:02d}-{counter:04d}"


def system_values(
    *, owner: int, department: int | None, user: int, stamp: dt.datetime
) -> dict[str, Any]:
    return {
        "owner": owner,
        "department": department,
        "record_type": None,
        "created_by": user,
        "created_at": stamp,
        "updated_by": user,
        "updated_at": stamp,
        "version": 1,
    }


def utc_stamp() -> dt.datetime:
    """Now as the naive UTC value Trellis stores."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def today_in_shanghai() -> dt.date:
    return dt.datetime.now(_SHANGHAI).date()
