"""The kiosk's own widgets: big buttons, keypads, the signature pad, the camera view."""
