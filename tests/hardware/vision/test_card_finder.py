"""Finding the card in scans, tilted scans and photos from the corpus, and straightening it."""

import cv2
import numpy as np
import pytest
from PIL import Image

from hardware.vision.card_finder import CARD_SIZE, find_card, order_corners
from hardware.vision.corpus import CONDITIONS, make_card


def bgr(image: Image.Image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


@pytest.mark.parametrize("condition", sorted(CONDITIONS))
@pytest.mark.parametrize("seed", range(6))
def test_the_card_is_found_and_straightened(condition, seed):
    card = make_card(seed)
    found = find_card(bgr(CONDITIONS[condition](card, seed)))
    assert found.found
    assert found.image.shape[:2] == (CARD_SIZE[1], CARD_SIZE[0])
    # The payer's band is the top of the straightened card: darker than the paper below.
    top = cv2.cvtColor(found.image[20:90, 100:400], cv2.COLOR_BGR2GRAY).mean()
    middle = cv2.cvtColor(found.image[420:560, 600:900], cv2.COLOR_BGR2GRAY).mean()
    assert top < middle


def test_a_frame_that_is_only_the_card_is_taken_whole():
    card = bgr(make_card(1).image)
    found = find_card(card)
    assert not found.found
    assert found.image.shape[:2] == (CARD_SIZE[1], CARD_SIZE[0])


def test_an_empty_table_has_no_card():
    table = np.full((900, 1200, 3), (60, 80, 110), np.uint8)
    assert not find_card(table).found


def test_corners_are_ordered_clockwise_from_top_left():
    shuffled = np.array([[90, 80], [10, 10], [10, 80], [90, 10]], np.float32)
    assert order_corners(shuffled).tolist() == [[10, 10], [90, 10], [90, 80], [10, 80]]
