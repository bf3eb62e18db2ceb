"""The report lists the dose-escalation decisions beside the design's recommendations, seals checked."""

from known_users import add_users
from datetime import date

from earlyphase.capture import Trial, initialise
from earlyphase.derive.decisions import decision_listing
from earlyphase.derive.source import read_source

from .live_helpers import study_file, treat


def test_report_section_lists_decisions(tmp_path):
    from earlyphase.report.document import report_from_database

    path = tmp_path / "t.db"
    t = initialise(str(path), str(study_file(tmp_path, "3+3")), "coordinator", today=date(2015, 9, 1))
    for s in ("P01", "P02", "P03"):
        treat(t, s, "A", "2015-01-10", "2015-01-12", ["2015-01-15"], 2.5e9)
    add_users(t, "dr.li")
    pi = Trial(t.engine, t.study, "dr.li", today=t.today)
    d1 = pi.record_dose_decision("2015-02-20", "escalate", "B", "0/3 DLT at level 1 after the full window",
                                 "Safety review committee", recommendation="3+3: escalate to level 2")
    from signing_helpers import sign

    sign(pi, d1.id)
    pi.record_dose_decision("2015-03-30", "stay", "B", "one DLT in three: three more at B", "Safety review committee")
    t.close()
    listing = decision_listing(read_source(f"sqlite:///{path}"))
    assert list(listing["DECISION"]) == ["escalate", "stay"]
    assert list(listing["SEAL"]) == ["sealed", "unsealed"]
    assert list(listing["CHANGE"]) == ["opens B", ""] and list(listing["LEVEL"]) == [2, 2]
    result = report_from_database(f"sqlite:///{path}", tmp_path / "report", identified=True)
    html = result.html.read_text()
    assert "Dose-escalation decisions" in html
    assert "0/3 DLT at level 1 after the full window" in html and "3+3: escalate to level 2" in html
    assert "sealed by dr.li" in html and "NOT SEALED" in html and "2015-02-20 (no. 1)" in html
    assert (tmp_path / "report" / "tables" / "dose_decisions.csv").exists()
    # de-identified (the default): no calendar dates, no names of who decided or sealed
    deid = report_from_database(f"sqlite:///{path}", tmp_path / "deid").html.read_text()
    i = deid.index('<section id="decisions">')
    section = deid[i:deid.index("</section>", i)]
    assert "escalate" in section and "opens B" in section and "no. 1 (date withheld)" in section
    assert "2015-" not in section and "dr.li" not in section and "Safety review committee" not in section
