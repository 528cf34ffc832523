"""Reply templates (答复模板) per category, from `data/reply_templates.yml`.

Validated when loaded: a 一级 name or category code the taxonomy does not know, a placeholder
other than {number} {body} {due}, an empty or overlong title or text, or a repeated title is
refused with a clear error naming the entry, so a typo fails at start-up and not in front of
a handler. Offered for a case: its category's own templates, then its 一级's, then the
generic ones; filled from the case for the reply box."""
from __future__ import annotations

import string
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import yaml

from bot.cases import messages as msg
from bot.cases.calendar import WorkCalendar
from bot.cases.views import CaseView
from bot.catalog import Catalog, CatalogError

FILE = "reply_templates.yml"
PLACEHOLDERS = frozenset({"number", "body", "due"})
MAX_TITLE, MAX_TEXT = 20, 1000
SCOPES = ("categories", "level1", "generic")


class TemplateError(CatalogError):
    """reply_templates.yml is wrong; the message names the entry, in English and Chinese."""

    def __init__(self, where: str, en: str, zh: str) -> None:
        super().__init__(f"{FILE} {where}: {en}（{zh}）")


@dataclass(frozen=True)
class Template:
    id: str         # "<scope>:<key>:<n>", stable while the file does not change
    scope: str      # category | level1 | generic
    title: str
    text: str

    def filled(self, values: dict[str, str]) -> dict:
        return {**asdict(self), "text": self.text.format_map(values)}


class ReplyTemplates:
    def __init__(self, generic: list[Template], level1: dict[str, list[Template]],
                 categories: dict[str, list[Template]]) -> None:
        self.generic, self.level1, self.categories = generic, level1, categories

    @classmethod
    def load(cls, data_dir: Path, catalog: Catalog) -> "ReplyTemplates":
        """The templates of `data_dir`; none (an empty set) when the file is absent."""
        path = Path(data_dir) / FILE
        if not path.exists():
            return cls([], {}, {})
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise TemplateError("", f"not valid YAML: {exc}", "文件格式不是合法的 YAML") from None
        return cls.parse(raw, catalog)

    @classmethod
    def parse(cls, raw: object, catalog: Catalog) -> "ReplyTemplates":
        if not isinstance(raw, dict):
            raise TemplateError("", "the top level must be a mapping", "顶层必须是映射")
        unknown = set(raw) - set(SCOPES)
        if unknown:
            raise TemplateError("", f"unknown sections {sorted(unknown)}",
                                f"未知的分组 {'、'.join(sorted(map(str, unknown)))}（可用 generic/level1/categories）")
        level1_names = {c.level1 for c in catalog.categories.values()}
        level1 = _grouped(raw.get("level1"), "level1", level1_names, "未知的一级分类")
        categories = _grouped(raw.get("categories"), "category", set(catalog.categories),
                              "未知的分类编码")
        generic = _entries(raw.get("generic") or [], "generic", "generic")
        return cls(generic, level1, categories)

    def for_category(self, code: str, level1: str) -> list[Template]:
        """The category's own templates first, then its 一级's, then the generic ones."""
        return [*self.categories.get(code, []), *self.level1.get(level1, []), *self.generic]

    def for_case(self, case: CaseView, calendar: WorkCalendar) -> list[dict]:
        """The templates offered on this case, placeholders filled from it."""
        values = {"number": case.number,
                  "body": case.body["name"] if case.body else "代理中心",
                  "due": _due_label(case.due_at, calendar)}
        return [t.filled(values) for t in self.for_category(case.category["code"],
                                                            case.category["level1"])]


def _due_label(due_at: str | None, calendar: WorkCalendar) -> str:
    if not due_at:
        return "规定期限"
    return msg.deadline_label(calendar, datetime.fromisoformat(due_at.removesuffix("Z")))


def _grouped(section: object, scope: str, known: set[str], unknown_zh: str) -> dict[str, list[Template]]:
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise TemplateError(scope, "must map names to lists of templates", "应为“名称: 模板列表”的映射")
    out = {}
    for key, entries in section.items():
        if key not in known:
            raise TemplateError(f"{scope} {key!r}", "not in the taxonomy",
                                f"{unknown_zh}：{key}（请对照 taxonomy.yml）")
        out[key] = _entries(entries, scope, str(key))
    return out


def _entries(entries: object, scope: str, key: str) -> list[Template]:
    where = f"{scope} {key!r}"
    if not isinstance(entries, list):
        raise TemplateError(where, "must be a list of templates", "应为模板列表")
    seen: set[str] = set()
    out = []
    for n, entry in enumerate(entries, 1):
        at = f"{where} #{n}"
        if not isinstance(entry, dict) or set(entry) != {"title", "text"}:
            raise TemplateError(at, "each template has exactly a title and a text",
                                "每条模板只能有 title 和 text 两项")
        title, text = entry["title"], entry["text"]
        if not isinstance(title, str) or not title.strip() or len(title.strip()) > MAX_TITLE:
            raise TemplateError(at, f"title must be 1..{MAX_TITLE} characters",
                                f"标题须为 1 到 {MAX_TITLE} 个字")
        if not isinstance(text, str) or not text.strip():
            raise TemplateError(at, "text is empty", "模板内容不能为空")
        text = "".join(line.strip() for line in text.splitlines())
        if len(text) > MAX_TEXT:
            raise TemplateError(at, f"text longer than {MAX_TEXT}", f"模板内容不能超过 {MAX_TEXT} 个字")
        _check_placeholders(text, at)
        title = title.strip()
        if title in seen:
            raise TemplateError(at, f"title {title!r} repeated", f"标题“{title}”重复")
        seen.add(title)
        out.append(Template(f"{scope}:{key}:{n}", scope, title, text))
    return out


def _check_placeholders(text: str, at: str) -> None:
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(text)
                  if name is not None]
    except ValueError:
        raise TemplateError(at, "unbalanced braces", "花括号不成对（占位符写法如 {number}）") from None
    for name, spec, conv in fields:
        if name not in PLACEHOLDERS or spec or conv:
            raise TemplateError(at, f"unknown placeholder {{{name}}}",
                                f"未知的占位符 {{{name}}}（可用 {{number}} {{body}} {{due}}）")
