"""Where a logged-in user may take an action: the sites their grants cover for it.

``sites_for`` is the one question every door asks before reading or writing patient data; a door
filters by its answer, so a user limited to one site never meets another site's subjects.
"""

from __future__ import annotations

from collections.abc import Iterable

from earlyphase.access.accounts import ALL_SITES, Grant
from earlyphase.access.roles import role_may


class EverySite:
    """The answer for a grant at every site (``ROLE@ALL``)."""

    def __contains__(self, site: object) -> bool:
        return True

    def __repr__(self) -> str:
        return "EverySite()"


EVERY_SITE = EverySite()


def sites_for(grants: Iterable[Grant], action: str) -> EverySite | frozenset[str]:
    """The site codes at which these grants allow ``action`` (``EVERY_SITE`` or a set, maybe empty)."""
    sites = set()
    for grant in grants:
        if role_may(grant.role, action):
            if grant.site == ALL_SITES:
                return EVERY_SITE
            sites.add(grant.site)
    return frozenset(sites)


def may(grants: Iterable[Grant], action: str, site: str | None = None) -> bool:
    """Whether ``action`` is allowed at ``site`` (with ``site`` None: at some site at least)."""
    allowed = sites_for(grants, action)
    if site is None:
        return allowed is EVERY_SITE or bool(allowed)
    return site in allowed
