"""Reminder writes, one module per concern.

* ``sync``: keeping reminders in step with appointments (the scheduling hook);
* ``dispatch``: choosing what is due (every minute from beat) and claiming it;
* ``send``: the actual sending, batch and single, with the raw-SQL claim and mark-sent;
* ``links``: the patient's confirm/cancel link tokens, issued with a send and spent once;
* ``alerting``: telling administrators about overdue or unsendable reminders.

Reads are in ``reminders.selectors``; the pure rules (due instants, templates) in ``reminders.rules``.
"""
