import datetime as dt

import pytest
from django.utils import timezone
from django.utils.timesince import timesince

from talks.templatetags.redline import relative


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "just now"),
        (59, "just now"),
        (60, "1 minute ago"),
        (3599, "59 minutes ago"),
        (7200, "2 hours ago"),
        (86400 * 6, "6 days ago"),
        (86400 * 7, "1 week ago"),
        (86400 * 45, "1 month ago"),
        (86400 * 800, "2 years ago"),
    ],
)
def test_relative_times_read_as_people_say_them(seconds, said):
    assert relative(seconds) == said


@pytest.mark.parametrize("seconds", [61, 3 * 3600 + 5, 9 * 86400, 70 * 86400, 400 * 86400])
def test_relative_times_agree_with_djangos_first_unit(seconds):
    now = timezone.now()
    first = timesince(now - dt.timedelta(seconds=seconds), now).split(",")[0]
    assert relative(seconds) == f"{first.replace(chr(160), ' ')} ago"
