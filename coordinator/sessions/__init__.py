"""Sessions with the parties: search, booking, answers, cancellation, calendars and reminders."""
