"""The whole insurance-card read, with real Tesseract, on generated cards."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from hardware.vision.card_reader import CARD_KEYS, read_insurance_card
from hardware.vision.corpus import as_scan, as_tilted, make_card

FRONTDESK = Path(sys.executable).with_name("frontdesk")


def bgr(image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


@pytest.mark.parametrize("render", [as_scan, as_tilted], ids=["scan", "tilted"])
@pytest.mark.parametrize("seed", [2, 3, 8])
def test_the_member_id_group_and_bin_of_a_clean_card_are_read_exactly(seed, render):
    card = make_card(seed)
    read = read_insurance_card(bgr(render(card, seed))).to_json()
    for key in ("member_id", "group_number", "rx_bin", "copay_primary_care"):
        assert read[key] == card.truth.fields()[key], key


def test_card_read_prints_every_key_with_a_confidence_and_the_quality(tmp_path):
    path = tmp_path / "card.png"
    as_scan(make_card(2), 2).save(path)
    result = subprocess.run(
        [str(FRONTDESK), "card", "read", str(path), "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    read = json.loads(result.stdout)
    assert set(CARD_KEYS) <= set(read)
    assert set(read["confidence"]) == set(CARD_KEYS)
    assert all(0 <= c <= 1 for c in read["confidence"].values())
    assert read["quality"]["ok"] is True
    assert read["copay_specialist"].endswith(".00")
