from datetime import date

import pytest

from earlyphase.derive import impute_end, impute_start, parse_partial
from earlyphase.errors import InputError


def test_complete_date_is_not_imputed():
    d = impute_start("2015-03-04")
    assert (d.value, d.date_flag, d.time) == (date(2015, 3, 4), None, None)


def test_time_is_kept_and_minutes_flagged_when_missing():
    d = impute_start("2015-03-04T14:30")
    assert d.time == (14, 30) and d.time_flag is None
    assert impute_start("2015-03-04T14").time_flag == "M"


def test_missing_day_start_is_first_of_month():
    d = impute_start("2015-03")
    assert (d.value, d.date_flag) == (date(2015, 3, 1), "D")


def test_missing_month_start_is_first_of_january():
    d = impute_start("2015")
    assert (d.value, d.date_flag) == (date(2015, 1, 1), "M")


def test_start_in_month_of_first_infusion_is_imputed_to_it():
    d = impute_start("2015-03", min_date=date(2015, 3, 10))
    assert (d.value, d.date_flag) == (date(2015, 3, 10), "D")
    # a first infusion outside the reported month does not move the imputation
    assert impute_start("2015-03", min_date=date(2015, 4, 2)).value == date(2015, 3, 1)


def test_missing_day_end_is_last_of_month_capped():
    assert impute_end("2016-02").value == date(2016, 2, 29)
    assert impute_end("2016-02").date_flag == "D"
    assert impute_end("2016").value == date(2016, 12, 31)
    assert impute_end("2016").date_flag == "M"
    assert impute_end("2016-02", max_date=date(2016, 2, 10)).value == date(2016, 2, 10)


def test_missing_end_stays_missing():
    d = impute_end(None)
    assert d.value is None and d.date_flag is None


@pytest.mark.parametrize("bad", ["2015-13", "2015-02-30", "15-03-01", "March 2015"])
def test_bad_dates_are_input_errors(bad):
    with pytest.raises(InputError) as exc:
        parse_partial(bad, "adverse_events.onset")
    assert exc.value.problems[0].field == "adverse_events.onset"


def test_missing_start_is_the_first_infusion_flag_y():
    d = impute_start("", min_date=date(2015, 3, 10))
    assert (d.value, d.date_flag) == (date(2015, 3, 10), "Y")
    assert impute_start(None).value is None
