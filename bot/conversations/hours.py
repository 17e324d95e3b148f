"""When counsellors answer: opening hours such as "mon-fri 09:00-16:00; sat 10:00-13:00".

Outside them a hand-off is still queued, and the citizen is told when to expect an answer (and the
emergency number). No hours configured means counsellors are always there. Teams (counsellors'
organisations) may keep their own hours; a conversation is answered by the teams with a counsellor
who speaks its language, so it waits only when all of those are closed.
"""

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ENTRY = re.compile(r"^(?P<days>[a-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$")


@dataclass(frozen=True)
class Window:
    weekday: int  # 0 = Monday
    start: time
    end: time


class OpeningHours:
    def __init__(self, spec: str, timezone: str = "Europe/Copenhagen") -> None:
        self.zone = ZoneInfo(timezone)
        self.windows = parse(spec)

    @property
    def always(self) -> bool:
        return not self.windows

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(self.zone)
        return self.always or any(w.weekday == local.weekday() and w.start <= local.time() < w.end
                                  for w in self.windows)

    def next_opening(self, now: datetime) -> datetime | None:
        """The start of the next window after `now` (local time), or None when always open."""
        if self.always:
            return None
        local = now.astimezone(self.zone)
        for days_ahead in range(8):
            day = (local + timedelta(days=days_ahead)).date()
            for window in sorted(self.windows, key=lambda w: w.start):
                if window.weekday == day.weekday():
                    start = datetime.combine(day, window.start, tzinfo=self.zone)
                    if start > local:
                        return start
        return None

    @staticmethod
    def describe(moment: datetime, language: str) -> str:
        """"tirsdag 09:00", "الثلاثاء 09:00": the weekday and time in the citizen's language."""
        return format_datetime(moment, "EEEE HH:mm", tzinfo=moment.tzinfo, locale=language)


def parse(spec: str) -> list[Window]:
    windows = []
    for entry in (part.strip().lower() for part in re.split(r"[;\n]", spec or "") if part.strip()):
        match = _ENTRY.match(entry)
        if match is None:
            raise ValueError(f"opening hours {entry!r}: write e.g. 'mon-fri 09:00-16:00; sat 10:00-13:00'")
        start, end = (time.fromisoformat(match[key].zfill(5)) for key in ("start", "end"))
        if end <= start:
            raise ValueError(f"opening hours {entry!r}: the end must be after the start")
        for weekday in _days(match["days"], entry):
            windows.append(Window(weekday, start, end))
    return windows


def _days(text: str, entry: str) -> list[int]:
    days: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"opening hours {entry!r}: days are {', '.join(DAYS)}")
        a, b = DAYS.index(first), DAYS.index(last or first)
        days.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return days


@dataclass(frozen=True)
class Availability:
    open_now: bool
    opens: datetime | None  # the earliest next opening when closed


def availability(schedules: list[OpeningHours], now: datetime) -> Availability:
    if any(schedule.is_open(now) for schedule in schedules):
        return Availability(True, None)
    openings = [o for o in (schedule.next_opening(now) for schedule in schedules) if o is not None]
    return Availability(not openings, min(openings) if openings else None)


def schedules_for(team_hours: dict[str, str], default_hours: str, team_languages: dict[str, set[str]],
                  language: str) -> list[OpeningHours]:
    """The hours that matter for a conversation in `language`: those of the teams with a counsellor who
    speaks it, else of every team with hours; without team hours, the default."""
    if not team_hours:
        return [OpeningHours(default_hours)]
    speaking = [team for team in team_hours if language in team_languages.get(team, set())]
    return [OpeningHours(team_hours[team]) for team in (speaking or list(team_hours))]
