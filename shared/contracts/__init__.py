"""Wire schemas shared by the kiosk and the back office."""
