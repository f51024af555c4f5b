"""German as written in Switzerland (the same dates and times as Django's German and Swiss German formats)."""

DATE_FORMAT = "j. F Y"  # 1. Dezember 2026
TIME_FORMAT = "H:i"  # 14:30
DATETIME_FORMAT = "j. F Y H:i"  # 1. Dezember 2026 14:30
YEAR_MONTH_FORMAT = "F Y"  # Dezember 2026
MONTH_DAY_FORMAT = "j. F"  # 1. Dezember
SHORT_DATE_FORMAT = "d.m.Y"  # 01.12.2026
SHORT_DATETIME_FORMAT = "d.m.Y H:i"  # 01.12.2026 14:30
FIRST_DAY_OF_WEEK = 1  # Monday
# ISO first: the back office's date fields are <input type="date">, which shows only an ISO value (Django's German
# would render "01.12.2026" there, an empty field to the browser); typed dates are read the Swiss way too.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M:%S.%f",
    "%d.%m.%Y %H:%M",
]
