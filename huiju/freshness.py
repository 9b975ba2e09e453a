"""Freshness of a source: the age of its last successful fetch against its cron schedule.

A source is overdue when its last successful fetch is older than one schedule interval plus
:data:`RUN_ALLOWANCE`. The interval is the gap between the two scheduled times before now, so a
weekday schedule expects a fetch within three days on a Monday and within one day on a Tuesday.
The rule compares ages and not times of day, because the pipeline deployment has its own
schedule: a source scheduled at 02:30 that the daily pipeline fetches at 02:00 is still on time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

# The deployments in prefect.yaml run on Beijing time, so schedules are read in that zone.
SCHEDULE_TIMEZONE = ZoneInfo("Asia/Shanghai")

# NOTE: an allowance for a scheduled run to finish before its source counts as overdue. The bundled
# catalog harvests in about ten seconds; a province-sized run may need longer than this hour.
RUN_ALLOWANCE = timedelta(hours=1)

ON_TIME = "on_time"
OVERDUE = "overdue"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Freshness:
    """Whether a source was fetched recently enough for its schedule.

    ``state`` is ``on_time``, ``overdue`` or ``unknown`` (no valid schedule). ``age`` is None
    when the source was never fetched successfully, and ``interval`` when the schedule is unknown.
    """

    state: str
    age: timedelta | None
    interval: timedelta | None
    last_success_at: datetime | None


def schedule_interval(schedule: str, now: datetime) -> timedelta:
    """Return the gap between the two scheduled times before ``now``.

    Raises ValueError when ``schedule`` is not a cron expression that fires at least twice in the
    50 years before ``now``.
    """
    try:
        firings = CronSim(schedule, now.astimezone(SCHEDULE_TIMEZONE), reverse=True)
        latest = next(firings)
        before = next(firings)
    except (CronSimError, StopIteration) as error:
        raise ValueError(f"cron schedule {schedule!r} has no two firings before {now.isoformat()}") from error
    return latest - before


def assess_freshness(schedule: str | None, last_success_at: datetime | None, now: datetime) -> Freshness:
    """Compare the age of the last successful fetch with the schedule interval of a source."""
    age = now - last_success_at if last_success_at is not None else None
    if schedule is None:
        return Freshness(UNKNOWN, age, None, last_success_at)
    try:
        interval = schedule_interval(schedule, now)
    except ValueError:
        return Freshness(UNKNOWN, age, None, last_success_at)
    is_overdue = age is None or age > interval + RUN_ALLOWANCE
    return Freshness(OVERDUE if is_overdue else ON_TIME, age, interval, last_success_at)
