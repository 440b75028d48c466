"""Check-in at the kiosk and the arrival queue staff watch."""
