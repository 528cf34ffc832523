"""Audited views of personal data ("查看完整信息") and the audit log supervisors read.

`reveal` answers a case the staff member may not reveal exactly like a case that does not
exist (`CaseNotFound`), reads the stored value, and writes the audit row in the same
transaction: no value leaves without its row. The row names who, their role, when, which
case, which field, why and from which address; never the value. A reason is masked like any
free text (a phone number typed into it is not kept readable).
"""
from __future__ import annotations

import logging

from sqlalchemy import insert, select

from bot.cases.errors import CaseNotFound, InvalidInput
from bot.cases.models import CaseRow
from bot.cases.views import iso
from bot.db import make_read_session_factory
from bot.privacy import mask_text
from bot.staff import policy
from bot.staff.models import audit_log
from bot.staff.principal import ROLE_LABELS, Role, Staff

log = logging.getLogger(__name__)

REASON_MIN, REASON_MAX = 2, 200
MAX_ENTRIES = 500
_COLUMNS = {"contact_phone": CaseRow.contact_phone, "contact_name": CaseRow.contact_name,
            "place": CaseRow.place}


class Audit:
    def __init__(self, container) -> None:
        self.cases = container.cases
        self.catalog = container.catalog
        self._reads = make_read_session_factory(container.engine)

    def reveal(self, staff: Staff, number: str, field: str, reason: str | None,
               address: str | None) -> str | None:
        """The unmasked `field` of case `number` (None when the case has none), audited."""
        if field not in policy.REVEALABLE:
            raise InvalidInput(f"field {field!r} cannot be revealed",
                               f"无法查看这一项信息：{field}（可查看："
                               f"{'、'.join(policy.REVEALABLE.values())}）")
        reason = " ".join((reason or "").split())
        if not REASON_MIN <= len(reason) <= REASON_MAX:
            raise InvalidInput("a reveal needs a reason of 2-200 characters",
                               f"请用 {REASON_MIN} 到 {REASON_MAX} 个字说明查看完整信息的原因"
                               "（例如：需要电话联系群众）")
        view = self.cases.get(number)
        if not policy.can_reveal(staff, view, field, self.catalog):
            raise CaseNotFound(number)
        with self.cases.session_factory() as session, session.begin():
            value = session.scalar(select(_COLUMNS[field]).where(CaseRow.number == view.number))
            session.execute(insert(audit_log).values(
                at=self.cases.clock(), staff_id=staff.id, username=staff.username,
                role=Role(staff.role).value, action="reveal", case_number=view.number,
                field=field, reason=mask_text(reason)[:REASON_MAX],
                address=(address or None) and address[:64]))
        log.info("reveal: %s (%s) viewed %s of case %s", staff.username, staff.role, field,
                 view.number)
        return value

    def entries(self, limit: int = 100, before_id: int | None = None,
                case_number: str | None = None) -> list[dict]:
        """The newest audit rows first; `before_id` pages back. Callers check
        `policy.can_read_audit` first."""
        stmt = (select(audit_log).order_by(audit_log.c.id.desc())
                .limit(max(1, min(int(limit), MAX_ENTRIES))))
        if before_id is not None:
            stmt = stmt.where(audit_log.c.id < before_id)
        if case_number:
            stmt = stmt.where(audit_log.c.case_number == case_number.strip())
        with self._reads() as session:
            rows = session.execute(stmt).all()
        return [{"id": r.id, "at": iso(r.at), "username": r.username, "role": r.role,
                 "role_label": ROLE_LABELS.get(r.role, r.role),
                 "action": r.action, "case_number": r.case_number, "field": r.field,
                 "field_label": policy.REVEALABLE.get(r.field, r.field), "reason": r.reason,
                 "address": r.address} for r in rows]
