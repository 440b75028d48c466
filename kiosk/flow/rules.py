"""What a clinic chooses about its check-in: which steps to show and how patient to be."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, kw_only=True)
class ClinicRules:
    """A clinic's check-in choices; the defaults ask for everything."""

    ask_language: bool = True
    languages: tuple[str, ...] = ("en", "es")  # the first is used when the language is not asked
    collect_insurance_card: bool = True
    collect_consent: bool = True
    collect_copay: bool = True
    allow_offline: bool = True  # check in by name or licence while the back office is away
    max_birth_date_attempts: int = 3
    idle_timeout: timedelta = timedelta(seconds=90)
    # "Still there?" is asked this long before the idle timeout: long enough to answer
    # without racing (WCAG 2.2.1 asks for at least 20 seconds).
    idle_warning: timedelta = timedelta(seconds=30)
    # The done screen holds only a first name; it clears itself sooner, with no question.
    done_timeout: timedelta = timedelta(seconds=30)
    # How long the reader waits for a card before the kiosk stops it and says so.
    payment_timeout: timedelta = timedelta(seconds=60)

    def __post_init__(self) -> None:
        if not self.languages:
            raise ValueError("a clinic needs at least one language")
        if self.max_birth_date_attempts < 1:
            raise ValueError("max_birth_date_attempts must be at least 1")
        if self.idle_timeout <= timedelta(0):
            raise ValueError("idle_timeout must be positive")
        if not timedelta(seconds=20) <= self.idle_warning < self.idle_timeout:
            raise ValueError("idle_warning must be at least 20 s and shorter than idle_timeout")
        if self.done_timeout <= timedelta(0):
            raise ValueError("done_timeout must be positive")
        if self.payment_timeout <= timedelta(0):
            raise ValueError("payment_timeout must be positive")
