"""Every table of the product in one MetaData: what Alembic migrates and tests compare."""
from __future__ import annotations

from sqlalchemy import MetaData


def product_metadata() -> MetaData:
    from bot.cases.hotspots import metadata as hotspot_metadata
    from bot.cases.models import Base
    from bot.channels.telegram.store import metadata as telegram_metadata
    from bot.open311.models import metadata as open311_metadata
    from bot.staff.models import metadata as staff_metadata
    from bot.web.store import metadata as webchat_metadata

    combined = MetaData()
    for source in (Base.metadata, telegram_metadata, webchat_metadata, staff_metadata,
                   hotspot_metadata, open311_metadata):
        for table in source.tables.values():
            table.to_metadata(combined)
    return combined
