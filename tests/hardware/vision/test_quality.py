"""Each quality check and its guidance code, on corpus images spoiled one way at a time."""

import cv2
import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter

from hardware.vision.card_finder import find_card
from hardware.vision.corpus import Card, as_photo, as_scan, make_card
from hardware.vision.quality import Guidance, assess

SEEDS = (0, 1, 3, 4)  # cards whose paper is not pure white, so a reflection can show


def bgr(image: Image.Image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


def with_glare(image: Image.Image) -> Image.Image:
    pixels = np.asarray(image).astype(np.float32)
    height, width = pixels.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    spot = 200 * np.exp(-(((xs - width * 0.55) ** 2 + (ys - height * 0.55) ** 2) / (2 * 70.0**2)))
    return Image.fromarray(np.clip(pixels + spot[..., None], 0, 255).astype(np.uint8))


def far_away(seed: int) -> Image.Image:
    """The card a long way from the camera: a third of its size in a scanner-sized frame."""
    card = make_card(seed)
    small = card.image.resize((card.image.width // 3, card.image.height // 3))
    return as_scan(Card(small, card.truth), seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_clean_scan_passes(seed):
    report = assess(find_card(bgr(as_scan(make_card(seed), seed))))
    assert (report.ok, report.guidance) == (True, Guidance.OK)


@pytest.mark.parametrize(
    ("spoil", "guidance"),
    [
        (lambda im: im.filter(ImageFilter.GaussianBlur(4)), Guidance.BLURRY),
        (lambda im: ImageEnhance.Brightness(im).enhance(0.25), Guidance.TOO_DARK),
        (with_glare, Guidance.GLARE),
    ],
    ids=["blurry", "too-dark", "glare"],
)
@pytest.mark.parametrize("seed", SEEDS)
def test_each_problem_is_named(seed, spoil, guidance):
    report = assess(find_card(bgr(spoil(as_scan(make_card(seed), seed)))))
    assert guidance in report.problems


@pytest.mark.parametrize("seed", SEEDS)
def test_a_card_far_from_the_camera_is_too_small(seed):
    report = assess(find_card(bgr(far_away(seed))))
    assert report.found and report.guidance == Guidance.TOO_SMALL


def test_no_card_is_the_guidance_for_an_empty_table():
    report = assess(find_card(np.full((900, 1200, 3), (60, 80, 110), np.uint8)))
    assert report.guidance == Guidance.NO_CARD


def test_a_photo_with_the_generators_glare_spot_is_flagged_but_still_found():
    report = assess(find_card(bgr(as_photo(make_card(3), 3))))
    assert report.found and Guidance.GLARE in report.problems


def test_the_report_is_json_ready():
    report = assess(find_card(bgr(as_scan(make_card(0), 0))))
    assert set(report.to_json()) == {
        "ok", "guidance", "problems", "card_found", "area_fraction", "brightness",
        "sharpness", "glare_fraction",
    }  # fmt: skip
