"""The services the actions use, built lazily once per process (never at import time)."""
from __future__ import annotations

import threading

from bot.container import Container
from bot.errands import ServiceCatalog
from bot.settings import Settings

_lock = threading.RLock()
_container: Container | None = None
_services: ServiceCatalog | None = None


def container() -> Container:
    global _container
    with _lock:
        if _container is None:
            _container = Container(Settings.from_env())
        return _container


def service_catalog() -> ServiceCatalog:
    global _services
    with _lock:
        if _services is None:
            _services = ServiceCatalog.load(container().settings.data_dir)
        return _services


def use(new_container: Container | None) -> None:
    """Replace the container (tests), or forget it so the next call rebuilds it."""
    global _container, _services
    with _lock:
        _container, _services = new_container, None
