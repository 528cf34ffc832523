"""Propose → (operator corrects) → confirm. The only way a transcript becomes a case.

`propose` reads nothing but the transcript and the open cases (for duplicates); `confirm`
opens the case through `CaseService.open_case` with an idempotency key the server derives from
the proposal's content (`content_key`), never the key a client sends back, so importing or
confirming the same call twice never opens two cases. `run_batch` goes through a whole batch,
never stops on one bad item and never opens a half-filled case.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.cases import CaseError, InvalidInput, OpenCase
from bot.cases.excerpt import MAX_LINE, MAX_LINES
from bot.cases.lifecycle import OPEN_STATES, State
from bot.cases.models import CaseRow
from bot.cases.service import CaseService
from bot.cases.validation import MAX_TEXT, clean_text, mask_phone, normalize_phone
from bot.cases.views import CaseView
from bot.catalog import Catalog
from bot.channels.safety_notice import CRISIS_FUNCTION, SAFETY_LEVELS
from bot.db import describe_error
from bot.intake import duplicates as dup
from bot.intake.errors import ConfirmConflict, IntakeError
from bot.intake.extract import Extraction, extract
from bot.intake.places import PlaceMatcher
from bot.intake.proposal import Proposal
from bot.intake.reader import Item, ReadFailure, Transcript, read_text
from bot.intake.speakers import CALLER, OPERATOR
from bot.nlu import Alternative, Classification, Classifier
from bot.nlu.matters import told
from bot.nlu.urgency import hotline_label
from bot.privacy import mask_text

log = logging.getLogger(__name__)

CORRECTABLE = ("summary", "text", "category", "kind", "area", "address", "phone", "name", "referral",
               "merge_into", "urgency")


@dataclass
class Outcome:
    """What became of one transcript: its proposal, the case, or the reason it failed."""
    id: str
    source: str
    proposal: Proposal | None = None
    case: CaseView | None = None
    existing: bool = False            # the case had been opened by an earlier import
    error: IntakeError | None = None

    def to_dict(self) -> dict:
        data = self.proposal.to_dict() if self.proposal else {"id": self.id, "source": self.source}
        data["case"] = None if self.case is None else {
            "number": self.case.number, "state": self.case.state, "state_label": self.case.state_label,
            "existing": self.existing, "merged_into": self.case.merged_into}
        data["error"] = self.error.to_dict() if self.error else None
        return data


@dataclass
class BatchReport:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error]

    @property
    def opened(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.case and not o.existing]

    @property
    def existing(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.case and o.existing]


def content_key(proposal: Mapping, secret: bytes = b"") -> str:
    """The idempotency key of a proposal, computed by the server from what identifies the call:
    the caller's account (the summary when there is none) and the contact phone, normalised
    (NFKC, no whitespace, phone digits only). The same call re-imported (renamed, re-encoded,
    other spacing) or confirmed again with any `key` in the body gets the same key; the
    operator's corrections do not change it. HMAC-SHA256 with the server secret, so a key
    cannot be computed, or aimed at another call's case, outside the server."""
    text = proposal.get("text") if isinstance(proposal.get("text"), str) else ""
    if not text.strip() and isinstance(proposal.get("summary"), str):
        text = proposal["summary"]
    phone = proposal.get("phone") if isinstance(proposal.get("phone"), str) else ""
    normal = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", phone))
    message = f"{normal}\x1f{digits}".encode("utf-8", "surrogatepass")
    return "intake:" + hmac.new(secret, message, hashlib.sha256).hexdigest()[:40]


def server_secret(var_dir: Path, environ: Mapping[str, str] | None = None) -> bytes:
    """INTAKE_SECRET when set (needed when several hosts share a database); else a random key
    kept in `var/intake.key`, shared by `bot intake` and the web app on one machine."""
    env = os.environ if environ is None else environ
    if env.get("INTAKE_SECRET"):
        return env["INTAKE_SECRET"].encode("utf-8")
    path = Path(var_dir) / "intake.key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:     # another process created it first
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode("utf-8")


class IntakeService:
    def __init__(self, cases: CaseService, catalog: Catalog, classifier: Classifier, *,
                 require_phone: bool = True, actor: str = "intake", secret: bytes = b"") -> None:
        self.cases = cases
        self.secret = secret
        self.catalog = catalog
        self.classifier = classifier
        self.require_phone = require_phone
        self.actor = actor

    @classmethod
    def from_container(cls, container, classifier: Classifier | None = None, **kwargs) -> "IntakeService":
        from bot.intake.classifier import default_classifier

        kwargs.setdefault("secret", server_secret(container.settings.var_dir))
        return cls(container.cases, container.catalog, classifier or default_classifier(container), **kwargs)

    def confirm_key(self, proposal: Mapping) -> str:
        return content_key(proposal, self.secret)

    @cached_property
    def places(self) -> PlaceMatcher:
        return PlaceMatcher(self.catalog)

    @cached_property
    def emergency_category(self) -> str | None:
        return next((c.code for c in self.catalog.categories.values() if c.limits_name == "emergency"), None)

    # ================================================================== propose
    def propose_text(self, text: str, *, id: str = "web", source: str = "web") -> Proposal:
        return self.propose(read_text(text, id=id, source=source))

    def propose(self, transcript: Transcript) -> Proposal:
        found = extract(transcript, self.places)
        classification = self._classify(found)
        code = classification.code
        category = self.catalog.categories[code]
        area = found.place.area
        route = self.catalog.route(code, area)
        body = self._crisis_body(found.urgency.level, code, area) or route.body
        urgency = found.urgency
        referral = None
        if urgency.level == "emergency":
            referral = _referral_text(urgency.hotline, urgency.reason)
        proposal = Proposal(
            id=transcript.id, source=transcript.source, key="",
            summary=found.summary, text=_case_text(found.caller_text),
            category={"code": code, "level1": category.level1, "level2": category.level2,
                      "confidence": classification.confidence,
                      "alternatives": [vars(a) for a in classification.alternatives]},
            kind=category.kind, body={"code": body.code, "name": body.name},
            place=found.place.to_dict(), area=area,
            phone=found.phone.number if found.phone else None,
            phone_detail=vars(found.phone) if found.phone else None,
            phone_tail=found.phone_tail, other_phones=found.other_phones,
            name=found.name.display if found.name else None,
            incident_time=found.incident_time.to_dict() if found.incident_time else None,
            urgency={"level": urgency.level, "hotline": urgency.hotline,
                     "hotlines": list(urgency.hotlines), "reason": urgency.reason},
            referral=referral, case_numbers=found.case_numbers, duplicates=[],
            warnings=list(found.warnings), excerpt=transcript_excerpt(transcript),
        )
        proposal.key = self.confirm_key(proposal.to_dict())
        imported = self.cases.find_by_idempotency_key(proposal.key)
        if imported is not None:
            proposal.warnings.append(f"这通电话已导入过，编号 {imported.number}（{imported.state_label}）")
        if referral is None:
            proposal.duplicates = [d.to_dict() for d in self._duplicates(proposal, found)
                                   if imported is None or d.number != imported.number]
        if classification.confidence < 0.35 and referral is None:
            proposal.warnings.append("分类把握不大，请核对诉求分类")
        others = told(found.caller_text, code, self._ranked, self.catalog)
        if others:
            proposal.warnings.append(f"来电还提到了其他事项：{'、'.join(others)}，"
                                     "如是另外的诉求，请分别登记")
        return proposal

    def _ranked(self, texts: list[str]) -> list[tuple[str, float]]:
        return [(c.code, c.confidence) for c in self.classifier.classify(texts)]

    def _classify(self, found: Extraction) -> Classification:
        result = self.classifier.classify([found.caller_text])[0]
        emergency = self.emergency_category
        if found.urgency.level in SAFETY_LEVELS and emergency and result.code != emergency:
            # A danger to life is an emergency whatever else it is, and a crisis (self-harm)
            # as urgent (as the chat records one); keep the rest as alternatives.
            cat = self.catalog.categories[emergency]
            alternatives = [Alternative(emergency, cat.level1, cat.level2, 1.0)] + \
                [a for a in result.alternatives if a.code != emergency][:2]
            return Classification(emergency, cat.level1, cat.level2, 1.0, alternatives)
        return result

    def _crisis_body(self, level: str | None, code: str, area: str | None):
        """The body behind the psychological-assistance line for a crisis filed as urgent (as
        actions/intercept.py records one), else None (the category's route)."""
        if level != "crisis" or code != self.emergency_category:
            return None
        return self.catalog.body_for(CRISIS_FUNCTION, area)

    def _duplicates(self, proposal: Proposal, found: Extraction) -> list[dup.Duplicate]:
        scope = dup.area_scope(self.catalog, proposal.area)
        candidates = self.cases.open_cases_in(proposal.category["code"], scope)
        mentioned = []
        for number in found.case_numbers:
            try:
                view = self.cases.get(number)
            except CaseError:
                continue
            if State(view.state) in OPEN_STATES:
                mentioned.append(dup.Duplicate(view.number, view.summary, view.state_label,
                                               view.area["name"] if view.area else None,
                                               view.created_at, 1.0, "来电人提到了这个编号"))
        threshold = dup.THRESHOLD if scope is not None else dup.THRESHOLD + 0.15
        ranked = dup.rank(f"{proposal.summary}\n{proposal.text}", candidates, threshold=threshold,
                          phone_mask=mask_phone(proposal.phone) if proposal.phone else None)
        seen = {d.number for d in mentioned}
        return mentioned + [d for d in ranked if d.number not in seen]

    # ================================================================== confirm
    def confirm(self, proposal: Proposal, corrections: dict | None = None, *,
                actor: str | None = None, channel: str | None = None,
                check_edits: bool = True) -> tuple[CaseView, bool]:
        """Open the case (or return the one an earlier import opened). Returns (case, existing).

        Corrections may change: summary, text, category, kind, area, address, phone, name,
        referral, urgency ('emergency' needs a referral), merge_into (a case number: 并单).
        Everything is checked before anything is written; nothing is half-filled.

        A call confirmed again with the content its case was opened with gets that case; with
        other content (an edited summary, another category …) `ConfirmConflict`, and nothing
        is changed: the edit would otherwise be lost without a word. `check_edits=False` (a
        batch re-import, whose proposals nobody edited) returns the earlier case either way.
        """
        original = proposal.to_dict()
        fixed = _apply(proposal, corrections or {})
        fixed["key"] = self.confirm_key(original)       # never the key the proposal carries
        request, merge_into = self._open_request(fixed, actor or self.actor, channel)
        if merge_into:
            self._check_merge_target(merge_into)
        before = self.cases.find_by_idempotency_key(request.idempotency_key)
        if before is None:
            opened: list[str] = []
            view = self.cases.open_case(request, with_case=lambda _session, new: opened.append(new.number))
            if not opened:          # a confirm of the same call at the same moment opened it
                before = view
        else:
            view = before
        if before is not None and check_edits:
            changed = _changes(request, merge_into, before, self._contact(before.number), self.catalog)
            if changed:
                raise ConfirmConflict(before.number, before.state_label, changed)
        if merge_into and view.state == State.RECEIVED.value:
            view = self.cases.act(view.number, "merge", actor=request.actor, to=merge_into)
        return view, before is not None

    def _contact(self, number: str) -> tuple[str | None, str | None]:
        """A case's contact phone and name as stored (its view shows them masked)."""
        with self.cases.session_factory() as session:
            row = session.execute(select(CaseRow.contact_phone, CaseRow.contact_name)
                                  .where(CaseRow.number == number)).first()
        return (row.contact_phone, row.contact_name) if row else (None, None)

    def _open_request(self, p: dict, actor: str, channel: str | None) -> tuple[OpenCase, str | None]:
        code = (p.get("category") or {}).get("code") if isinstance(p.get("category"), dict) else p.get("category")
        if not code or code not in self.catalog.categories:
            raise IntakeError(f"unknown category {code!r}", f"诉求分类无效：{code or '（空）'}")
        area = p.get("area") or None
        if area is not None and area not in self.catalog.areas:
            raise IntakeError(f"unknown area {area!r}", f"区域编码无效：{area}")
        text = (p.get("text") or "").strip()
        summary = (p.get("summary") or "").strip()
        if not text and not summary:
            raise IntakeError("no text", "诉求内容为空")
        referral = (p.get("referral") or "").strip() or None
        urgency = (p.get("urgency") or {}).get("level") if isinstance(p.get("urgency"), dict) else p.get("urgency")
        if urgency == "emergency" and not referral:
            hotline = (p.get("urgency") or {}).get("hotline") if isinstance(p.get("urgency"), dict) else None
            referral = _referral_text(hotline or "110", "紧急情况")
        merge_into = (p.get("merge_into") or "").strip() or None
        if merge_into and referral:
            raise IntakeError("an emergency is referred, not merged", "紧急警情应转介，不能并单")
        phone = p.get("phone") or None
        try:
            phone = normalize_phone(phone)
        except InvalidInput as exc:
            raise IntakeError(f"bad phone number: {exc.args[0]}", exc.zh) from None
        if phone is None and self.require_phone and not referral:
            raise IntakeError("no contact phone: the resident could not be told of progress",
                              "缺少联系电话，无法向来电人反馈进展，请补全后再提交")
        address = p.get("address")
        if address is None and isinstance(p.get("place"), dict):
            address = p["place"].get("address")
        crisis_body = None if referral else self._crisis_body(urgency, code, area)
        return OpenCase(
            assign_to=crisis_body.code if crisis_body else None,
            text=text or summary, category=code, area=area, kind=p.get("kind") or None,
            contact=phone, contact_name=(p.get("name") or None), place=address or None,
            summary=summary or None, channel=channel, idempotency_key=p["key"], actor=actor,
            refer=referral, auto_assign=merge_into is None,
            excerpt=tuple(p.get("excerpt") or ()),
        ), merge_into

    def _check_merge_target(self, number: str) -> None:
        try:
            target = self.cases.get(number)
        except CaseError as exc:
            raise IntakeError(f"merge target {number} not found", exc.zh) from None
        if State(target.state) not in OPEN_STATES:
            raise IntakeError(f"merge target {number} is {target.state}",
                              f"目标诉求 {number} 已{target.state_label}，不能并入")

    # ================================================================== batch
    def run_batch(self, items: Iterable[Item], *, dry_run: bool = False,
                  on_item: Callable[[Outcome], None] | None = None) -> BatchReport:
        report = BatchReport()
        for item in items:
            outcome = self.process(item, dry_run=dry_run)
            report.outcomes.append(outcome)
            if on_item:
                on_item(outcome)
        return report

    def process(self, item: Item, *, dry_run: bool = False) -> Outcome:
        """One item of a batch: never raises."""
        outcome = Outcome(item.id, item.source)
        if isinstance(item, ReadFailure):
            outcome.error = item.error
            return outcome
        try:
            outcome.proposal = self.propose(item)
            if not dry_run:
                outcome.case, outcome.existing = self.confirm(outcome.proposal, check_edits=False)
        except IntakeError as exc:
            outcome.error = exc
        except CaseError as exc:
            outcome.error = IntakeError(str(exc.args[0]), exc.zh)
        except SQLAlchemyError as exc:     # the store, not the item: say what to do, no SQL
            zh, en = describe_error(exc)
            log.warning("intake of %s: database: %s", item.id, en)
            outcome.error = IntakeError(f"database: {en}", f"无法读写诉求库：{zh}")
        except Exception as exc:  # noqa: BLE001 - one broken item must not stop a batch
            log.exception("intake of %s failed", item.id)
            outcome.error = IntakeError(f"internal error: {type(exc).__name__}: {exc}",
                                        "处理这条记录时发生内部错误，已记录日志")
        return outcome


def _apply(proposal: Proposal, corrections: dict) -> dict:
    data = proposal.to_dict()
    for key, value in corrections.items():
        if key not in CORRECTABLE:
            raise IntakeError(f"cannot correct {key!r}", f"不能修改字段：{key}")
        if isinstance(value, str):
            value = value.strip()
        data[key] = value
    return data


def _changes(request: OpenCase, merge_into: str | None, case: CaseView,
             contact: tuple[str | None, str | None], catalog: Catalog) -> list[str]:
    """What of a confirm's content its case was not opened with (the fields the intake sets
    are never changed after opening), as the operator names them; [] for the same content.
    Texts are compared as stored: cleaned and masked, whitespace aside; `contact` is the
    case's phone and name unmasked."""
    def text(value: str | None) -> str:
        cleaned = clean_text(value, required=False, limit=10 * MAX_TEXT)
        return re.sub(r"\s+", "", mask_text(mask_text(cleaned)) or "")

    phone, contact_name = contact
    opening = [e for e in case.events if e.at == case.events[0].at] if case.events else []
    referral = next((e.data.get("text") for e in opening if e.action == "refer"), None)
    kind = request.kind or catalog.categories[request.category].kind
    changed = [
        ("诉求分类", request.category != case.category["code"]),
        ("区域", request.area != (case.area or {}).get("code")),
        ("诉求类型", kind != case.kind),
        ("摘要", request.summary is not None and text(request.summary) != text(case.summary)),
        ("诉求内容", text(request.text) != text(case.text)),
        ("联系电话", request.contact is not None and request.contact != phone),
        ("称呼", clean_text(request.contact_name, required=False) != contact_name),
        ("地址", text(request.place) != text(case.place)),
        ("紧急转介", (request.refer is None) != (referral is None)
         or referral is not None and text(request.refer) != text(referral)),
        ("并单", merge_into != case.merged_into and not (merge_into and case.state == State.RECEIVED.value)),
    ]
    return [name for name, differs in changed if differs]


def transcript_excerpt(transcript: Transcript) -> list[dict]:
    """The call's last turns with a known speaker, as case excerpt lines (caller/operator)."""
    lines = [{"who": t.speaker_role, "text": t.text.strip()[:MAX_LINE]} for t in transcript.turns
             if t.speaker_role in (CALLER, OPERATOR) and t.text and t.text.strip()]
    return lines[-MAX_LINES:]


def _case_text(caller_text: str) -> str:
    note = "（转写过长，已截断）"
    return caller_text if len(caller_text) <= MAX_TEXT else caller_text[:MAX_TEXT - len(note)] + note


def _referral_text(hotline: str | None, reason: str) -> str:
    number = hotline or "110"
    return (f"您反映的情况属于紧急情况（{reason or '紧急求助'}），请立即拨打{number}{hotline_label(number)}求助，"
            f"话务员已同步告知相关部门。")
