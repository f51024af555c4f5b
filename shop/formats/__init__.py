"""Date and time formats as a Swiss shop writes them (``FORMAT_MODULE_PATH``), per language; anything not set here
comes from Django's own format of the language.

- English: "1 Dec 2026", "1 Dec 2026, 14:30", short "01.12.2026" — day before month, 24-hour clock, as English is
  written in Switzerland (Django's English is American: "Dec. 1, 2026, 2:30 p.m.", "12/01/2026").
- German: Django's (the same as its Swiss German): "1. Dezember 2026", "01.12.2026 14:30".
- French: "1 décembre 2026" as Django's, but short dates with dots, "01.12.2026 14:30", as in Romandy (Django's French
  writes "01/12/2026").

Date fields are read ISO first (``2026-12-01``, what ``<input type="date">`` sends and the only value it shows), then
the way the language writes dates by hand. Weeks start on Monday everywhere. Numbers keep Django's formats; money
never goes through them (``shop.money``).
"""
