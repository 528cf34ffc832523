"""The 事务代办 service catalog (data/services.yml): what to bring, where to go, how long.

Pure data access: `ServiceCatalog.load(data_dir)` once, then `find(text)` answers
"办居住证要带什么" and `for_category(code)` picks the guide for a classified request.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    category: str
    aliases: tuple[str, ...]
    materials: tuple[str, ...]
    where: str
    duration: str
    fee: str = ""
    notes: str = ""

    def describe(self) -> str:
        """The guide as residents read it."""
        lines = [f"{self.name}，一般需要准备："]
        lines += [f"{i}. {item}" for i, item in enumerate(self.materials, 1)]
        lines.append(f"办理地点：{self.where}")
        lines.append(f"办理时限：{self.duration}")
        if self.fee:
            lines.append(f"费用：{self.fee}")
        if self.notes:
            lines.append(f"温馨提示：{self.notes}")
        lines.append("具体以窗口最新要求为准。")
        return "\n".join(lines)


@dataclass
class ServiceCatalog:
    services: dict[str, Service]

    @classmethod
    def load(cls, data_dir: Path) -> "ServiceCatalog":
        with (Path(data_dir) / "services.yml").open(encoding="utf-8") as handle:
            raw = yaml.safe_load(handle) or {}
        services = {}
        for item in raw.get("services", []):
            service = Service(
                id=item["id"], name=item["name"], category=item["category"],
                aliases=tuple(item.get("aliases", ())), materials=tuple(item["materials"]),
                where=item["where"], duration=item["duration"], fee=item.get("fee", ""),
                notes=item.get("notes", ""))
            services[service.id] = service
        return cls(services)

    def find(self, text: str | None) -> Service | None:
        """The service the text names, preferring the longest matching alias."""
        if not text:
            return None
        best: tuple[int, Service] | None = None
        for service in self.services.values():
            for alias in (service.name, *service.aliases):
                if alias in text and (best is None or len(alias) > best[0]):
                    best = (len(alias), service)
        return best[1] if best else None

    def for_category(self, code: str | None) -> Service | None:
        return next((s for s in self.services.values() if s.category == code), None)
