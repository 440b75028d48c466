"""What the serial drivers share."""

from __future__ import annotations

import termios

import serial

# What an unplugged or vanished port raises, depending on the call that meets it.
PORT_ERRORS = (serial.SerialException, OSError, termios.error)
