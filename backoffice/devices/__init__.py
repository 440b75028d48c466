"""Device principals: kiosks that call the kiosk API with a revocable token."""
