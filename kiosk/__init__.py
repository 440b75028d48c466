"""The lobby check-in kiosk. Imports `shared` and `hardware`, never `backoffice`."""
