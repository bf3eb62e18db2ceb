"""Names the privacy tests share (a module of its own: several test folders have a conftest)."""

USER = "jsmith"
ANSWERER = "mlopez"
# What the tests check never leaves a de-identified output: names, dates, phone and record numbers, e-mails.
LEAKS = ("Grainger", "Okafor", "0161 496 0000", "4432190", "p.grainger@example.com", "12/03/1951", "Margaret",
         "jsmith", "mlopez", "2015-", "2016-")
