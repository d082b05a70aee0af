"""The PBXes the app connects to (contract: pbx.md), in the order Settings shows them.

One entry per vendor. A vendor whose adapter is not written yet is listed with
its credentials only (``available`` is False: its address answers 404 and the
settings page says the adapter is coming); its module replaces the entry with
its own ``VENDOR`` (docs/pbx.md, «Adding an adapter»).

Pure data: config.py reads the credential names from here, so the
environment variables of every adapter are known in one place.
"""
from __future__ import annotations

from notifier.pbx.asterisk import VENDOR as ASTERISK
from notifier.pbx.base import Vendor
from notifier.pbx.mango import VENDOR as MANGO
from notifier.pbx.threecx import VENDOR as THREECX
from notifier.pbx.vats import VENDOR as VATS
from notifier.pbx.zadarma import VENDOR as ZADARMA

VENDORS: tuple[Vendor, ...] = (MANGO, ZADARMA, VATS, ASTERISK, THREECX)
BY_SLUG: dict[str, Vendor] = {v.slug: v for v in VENDORS}

# Every credential's name (environment variable and key of the saved ``pbx`` setting),
# and those that are secrets: never shown back in full, and encrypted where the
# settings table encrypts credentials.
CREDENTIAL_KEYS: tuple[str, ...] = tuple(c.key for v in VENDORS for c in v.credentials)
SECRET_KEYS: tuple[str, ...] = tuple(c.key for v in VENDORS for c in v.credentials if c.secret)


def get(slug: str) -> Vendor | None:
    return BY_SLUG.get(slug)
