"""Insurance-card field accuracy per field and per condition, and licence barcode decoding,
on the project's own generated corpus, in-process on one core.

    OMP_THREAD_LIMIT=1 .venv/bin/python -m benchmarks.card_reading [--cards 100] [--licences 100]

Each card is drawn from its seed (design, fonts, label wording, colours, one or two columns)
and read three ways: scanned, scanned tilted 4-15 degrees, and photographed in perspective
on a table with uneven light and a glare spot. A field is right when it equals the ground
truth exactly (payer names: the name printed; copays: decimal dollars). Each licence is
drawn with a random AAMVA version 1-10 and read scanned, tilted up to 15 degrees, and
photographed; it is right when the name, birth date, expiry and licence number all match.
Figures are printed and written to benchmarks/results/card_reading.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from hardware.vision.card_reader import CARD_KEYS, read_insurance_card, read_licence
from hardware.vision.corpus import (
    CONDITIONS,
    Card,
    as_photo,
    as_scan,
    as_tilted_licence,
    make_card,
    make_licence,
)

RESULTS = Path(__file__).parent / "results"


def bgr(image) -> np.ndarray:  # type: ignore[no-untyped-def]
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


def cards(count: int) -> dict[str, object]:
    right: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    flagged_wrong: dict[str, int] = defaultdict(int)
    wrong_total: dict[str, int] = defaultdict(int)
    seconds: list[float] = []
    for seed in range(count):
        card = make_card(10_000 + seed)
        truth = card.truth.fields()
        for condition, render in CONDITIONS.items():
            frame = bgr(render(card, seed))
            started = time.perf_counter()
            result = read_insurance_card(frame).to_json()
            seconds.append(time.perf_counter() - started)
            for key in CARD_KEYS:
                expected = truth["rx_group" if key == "rx_group" else key]
                if result[key] == expected:
                    right[condition][key] += 1
                else:
                    wrong_total[condition] += 1
                    flagged_wrong[condition] += key in result["needs_review"]
    table = {
        condition: {key: round(right[condition][key] / count, 3) for key in CARD_KEYS}
        for condition in CONDITIONS
    }
    overall = {
        condition: round(sum(right[condition].values()) / (count * len(CARD_KEYS)), 4)
        for condition in CONDITIONS
    }
    return {
        "cards": count,
        "per_field": table,
        "overall": overall,
        "wrong_fields_flagged_for_review": {
            c: f"{flagged_wrong[c]}/{wrong_total[c]}" for c in CONDITIONS
        },
        "seconds_per_card": {
            "median": round(statistics.median(seconds), 3),
            "p95": round(sorted(seconds)[int(0.95 * (len(seconds) - 1))], 3),
            "max": round(max(seconds), 3),
        },
    }


def licences(count: int) -> dict[str, object]:
    views = {
        "scan": lambda lic, s: as_scan(Card(lic.image, None), s),  # type: ignore[arg-type]
        "tilted": as_tilted_licence,
        "photo": lambda lic, s: as_photo(Card(lic.image, None), s),  # type: ignore[arg-type]
    }
    right: dict[str, int] = defaultdict(int)
    seconds = []
    for seed in range(count):
        licence = make_licence(20_000 + seed)
        for view, render in views.items():
            frame = bgr(render(licence, seed))
            started = time.perf_counter()
            try:
                read = read_licence(frame)
            except ValueError:
                continue
            finally:
                seconds.append(time.perf_counter() - started)
            truth = licence.truth
            right[view] += (
                read.last_name.lower() == truth.last_name.lower()
                and read.first_name is not None
                and read.first_name.lower() == truth.first_name.lower()
                and read.date_of_birth == truth.date_of_birth
                and read.expiration_date == truth.expiration_date
                and read.license_number == truth.license_number
            )
    return {
        "licences": count,
        "decoded_and_parsed": {v: round(right[v] / count, 4) for v in views},
        "seconds_median": round(statistics.median(seconds), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cards", type=int, default=100)
    parser.add_argument("--licences", type=int, default=100)
    args = parser.parse_args()
    if os.environ.get("OMP_THREAD_LIMIT") != "1":
        print("note: set OMP_THREAD_LIMIT=1 to measure on one core, as the figures should be")
    cv2.setNumThreads(1)
    figures = {"cards": cards(args.cards), "licences": licences(args.licences)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "card_reading.json").write_text(json.dumps(figures, indent=2))
    c, lic = figures["cards"], figures["licences"]
    print(f"insurance cards: {c['cards']} cards x {len(CONDITIONS)} conditions")  # type: ignore[index]
    header = "field".ljust(20) + "".join(cond.rjust(9) for cond in CONDITIONS)
    print(header)
    for key in CARD_KEYS:
        row = key.ljust(20) + "".join(
            f"{c['per_field'][cond][key]:9.1%}"
            for cond in CONDITIONS  # type: ignore[index]
        )
        print(row)
    print("all fields".ljust(20) + "".join(f"{c['overall'][cond]:9.1%}" for cond in CONDITIONS))  # type: ignore[index]
    print(f"wrong fields flagged for review: {c['wrong_fields_flagged_for_review']}")  # type: ignore[index]
    print(f"seconds per card: {c['seconds_per_card']}")  # type: ignore[index]
    print(f"licences: {lic}")


if __name__ == "__main__":
    main()
