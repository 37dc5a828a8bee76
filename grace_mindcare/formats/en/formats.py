"""The clinic's one way of writing a time of day, for every page, PDF and message.

Django's English default mixes "3:30 p.m." (``{{ value }}``) with whatever a template spells
out; pages that wrote "15:30" next to "3:30 PM" made staff stop and convert. Templates use
``|time`` and ``|date:"SHORT_DATETIME_FORMAT"``, Python code ``django.utils.formats``, and
all of them read these. The 12-hour clock is how this US clinic's staff and patients write
times (``core.formatting.clock`` writes a time of day in Python code through them).
"""

TIME_FORMAT = "g:i A"
DATETIME_FORMAT = "M j, Y, g:i A"
SHORT_DATETIME_FORMAT = "m/d/Y g:i A"
