"""The proposal shown to the operator: every field the intake filled in, editable, as JSON."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from bot.privacy import mask_value


@dataclass
class Proposal:
    id: str                          # transcript id (file stem, batch row id)
    source: str
    key: str                         # idempotency key derived from the transcript content
    summary: str                     # 诉求摘要
    text: str                        # the caller's account: becomes the case text
    category: dict                   # {code, level1, level2, confidence, alternatives[]}
    kind: str                        # demand | errand | petition | consult
    body: dict | None                # proposed 承办单位 {code, name}
    place: dict                      # {area, area_name, address, landmark, matched}
    area: str | None                 # area code
    phone: str | None
    phone_detail: dict | None        # {number, kind, source, valid}
    phone_tail: str | None
    other_phones: list[str]
    name: str | None                 # 王女士
    incident_time: dict | None       # {text, at}
    urgency: dict                    # {level, hotline, hotlines, reason}
    referral: str | None             # for emergencies: what the resident is told (110/119/120/122)
    case_numbers: list[str]          # case numbers the call mentions
    duplicates: list[dict]           # [{number, summary, score, reason, …}]
    warnings: list[str] = field(default_factory=list)
    excerpt: list[dict] = field(default_factory=list)   # the call's turns: [{who, text}]

    def to_dict(self) -> dict:
        data = asdict(self)
        # Other residents' cases: their summaries are shown masked (bot.privacy).
        data["duplicates"] = mask_value(data["duplicates"])
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Proposal":
        names = {f.name for f in fields(cls)}
        defaults = {"warnings": [], "duplicates": [], "case_numbers": [], "other_phones": [],
                    "phone_detail": None, "phone_tail": None, "incident_time": None,
                    "referral": None, "body": None, "place": {}, "area": None, "name": None,
                    "phone": None, "source": "web", "id": "web", "kind": None,
                    "urgency": {"level": "normal"}, "excerpt": []}
        values = {**defaults, **{k: v for k, v in data.items() if k in names}}
        missing = [n for n in ("key", "summary", "text", "category") if not values.get(n)]
        if missing:
            from bot.intake.errors import IntakeError

            raise IntakeError(f"proposal lacks {', '.join(missing)}",
                              f"提案缺少必要字段：{'、'.join(missing)}")
        return cls(**values)
