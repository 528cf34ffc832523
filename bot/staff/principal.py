"""Who is calling: the logged-in staff member every console route and policy check works with."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"            # 代理员: works the cases of their agent code and their 点
    BODY = "body"              # 承办单位: a body's staff, sees that body's cases
    OPERATOR = "operator"      # 话务员: opens cases from hotline transcripts
    SUPERVISOR = "supervisor"  # 督办: sees all, approves extensions, escalates
    ADMIN = "admin"            # 管理员: manages staff accounts


ROLE_LABELS = {Role.AGENT: "代理员", Role.BODY: "承办单位", Role.OPERATOR: "话务员",
               Role.SUPERVISOR: "督办", Role.ADMIN: "管理员"}


@dataclass(frozen=True)
class Staff:
    id: int
    username: str
    role: Role
    name: str | None = None
    agent_code: str | None = None     # set for agents
    body_code: str | None = None      # set for body staff

    @property
    def actor(self) -> str:
        """What the case service records as the event's actor."""
        return f"staff:{self.username}"

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    def to_dict(self) -> dict:
        return {"username": self.username, "role": self.role.value, "role_label": self.role_label,
                "name": self.name, "agent": self.agent_code, "body": self.body_code}
