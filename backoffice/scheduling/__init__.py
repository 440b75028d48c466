"""Provider calendars: schedule templates, exceptions, slot search and booking."""
