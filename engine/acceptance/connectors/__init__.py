"""Connectors to other government systems. First: the data-sharing platform (数据共享).

Which implementation the hall uses is configuration, not code:

    ONETHING_DATA_SHARING=fake                          # default: the local fake registry
    ONETHING_DATA_SHARING=fake:/srv/onething/registry.json   # the fake, with other data
    ONETHING_DATA_SHARING=mycity.sharing:ProvincialPlatform  # a real one

A real platform is plugged in by writing a class (or factory function) that provides the
methods of `DataSharing` — company, business_licence, id_card, credit_flag, fetch_material —
returning the records of `interfaces.py`, raising `SharingUnavailable` when the platform
cannot be reached, and naming it as `module:attribute` above. The factory is called with no
arguments; it reads its own settings (endpoint, credentials) from the environment.
"""
from __future__ import annotations

import importlib

from engine.acceptance.connectors.fake import FakeRegistry
from engine.acceptance.connectors.interfaces import (SHARED, BusinessLicence, Company, CreditFlag,
    DataSharing, IdCard, SharedDocument, SharingUnavailable)
from engine.acceptance.connectors.materials import PulledMaterial, pull_material

__all__ = ["SHARED", "BusinessLicence", "Company", "CreditFlag", "DataSharing", "FakeRegistry",
           "IdCard", "PulledMaterial", "SharedDocument", "SharingUnavailable", "data_sharing",
           "pull_material"]


def data_sharing(spec: str | None = None, *, local_flags=None) -> DataSharing:
    """The data-sharing implementation named by `spec` (see the module docstring). With
    `local_flags` (an engine.acceptance.credit.CreditFlags), its `credit_flag()` also answers from the
    hall's own credit flags (a false 告知承诺 found at a site check counts at once)."""
    from engine.acceptance.credit import with_local_flags

    return with_local_flags(_platform(spec), local_flags)


def _platform(spec: str | None) -> DataSharing:
    spec = (spec or "fake").strip()
    if spec == "fake" or spec.startswith("fake:"):
        return FakeRegistry.from_file(spec[5:] or None)
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"数据共享配置「{spec}」无效：应为 fake、fake:<文件> 或 <模块>:<类或工厂>")
    factory = getattr(importlib.import_module(module_name), attribute)
    implementation = factory()
    if not isinstance(implementation, DataSharing):
        raise TypeError(f"{spec} 没有实现 DataSharing 的全部方法")
    return implementation
