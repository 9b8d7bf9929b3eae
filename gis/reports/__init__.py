"""Reports and bulletins (报告与通报): data assembly only, no web or rendering code.

:func:`township_report` builds one township's hotspot report, :func:`load_county` the
county-wide data it reads (shared across townships by ``report all``), and
:func:`county_bulletin` the daily or half-monthly bulletin.
"""

from gis.reports.bulletin import Bulletin, county_bulletin
from gis.reports.county import CountyData, load_county
from gis.reports.errors import UnknownTownship
from gis.reports.periods import ReportDate
from gis.reports.township import TownshipReport, township_report

__all__ = [
    "Bulletin",
    "CountyData",
    "ReportDate",
    "TownshipReport",
    "UnknownTownship",
    "county_bulletin",
    "load_county",
    "township_report",
]
