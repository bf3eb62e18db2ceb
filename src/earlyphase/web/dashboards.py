"""Study dashboards: enrolment by site and level over time, adverse events by grade and term, DLTs, overdue
forms, open queries by age, for the sites the visitor may see (patients' data or aggregates). The numbers
are read for those sites only (``derive.dashboards``); the page names no subject."""

from __future__ import annotations

import base64

from fastapi import FastAPI, Request

from earlyphase.access import sites_for
from earlyphase.access.scope import EVERY_SITE
from earlyphase.derive.dashboards import dashboard_data
from earlyphase.report.dashboard_figures import dashboard_figures
from earlyphase.web.kit import Kit, Refused


def _sites(grants):
    subjects, aggregates = sites_for(grants, "view_subjects"), sites_for(grants, "view_aggregates")
    if subjects is EVERY_SITE or aggregates is EVERY_SITE:
        return EVERY_SITE
    return subjects | aggregates


def register(app: FastAPI, kit: Kit) -> None:
    @app.get("/dashboards")
    def dashboards(request: Request):
        found = kit.visitor(request)
        sites = _sites(found.grants)
        if sites is not EVERY_SITE and not sites:
            raise Refused(403, "Your roles do not include seeing a site's numbers.", found)
        board = dashboard_data(kit.engine, sites, kit.as_of())
        # SVG as data: images, so the page's policy (no inline style) holds and the plots keep their own
        figures = {name: "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
                   for name, svg in dashboard_figures(board).items() if svg}
        return kit.page(request, "dashboards.html", visitor=found, board=board, figures=figures,
                        shown="every site" if sites is EVERY_SITE else ", ".join(board.sites) or "none")
