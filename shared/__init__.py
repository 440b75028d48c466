"""Contracts shared by the kiosk and the back office: enums, errors, validators.

Pure Python with no I/O; imports nothing else of Frontdesk.
"""

API_VERSION = "v1"
