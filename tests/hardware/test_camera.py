"""The simulated camera and auto-capture: a card is taken only once it is found, sharp and
held steady; the guidance says what is wrong until then."""

import numpy as np
from PIL import ImageFilter

from hardware.camera import AutoCapture, FolderCamera
from hardware.vision.corpus import as_scan, make_card
from hardware.vision.quality import Guidance


def write_frames(folder, images):
    folder.mkdir()
    for i, image in enumerate(images):
        image.save(folder / f"{i:03d}.png")
    return folder


def test_a_steady_sharp_card_is_captured_after_three_frames(tmp_path):
    scan = as_scan(make_card(2), 2)
    camera = FolderCamera(write_frames(tmp_path / "f", [scan]), repeat=5)
    capture = AutoCapture(steady_frames=3)
    verdicts = [capture.look(frame) for frame in camera.frames()]
    taken = [i for i, v in enumerate(verdicts) if v.capture is not None]
    assert taken[0] == 2  # the third steady frame
    assert verdicts[2].capture.quality.ok


def test_a_blurred_card_is_not_captured_and_the_patient_is_told(tmp_path):
    blurred = as_scan(make_card(2), 2).filter(ImageFilter.GaussianBlur(4))
    camera = FolderCamera(write_frames(tmp_path / "f", [blurred]), repeat=5)
    capture = AutoCapture()
    verdicts = [capture.look(frame) for frame in camera.frames()]
    assert all(v.capture is None for v in verdicts)
    assert {v.guidance for v in verdicts} == {Guidance.BLURRY}


def test_a_moving_card_waits_until_it_stops(tmp_path):
    card = make_card(4)
    moving = [as_scan(card, seed) for seed in (1, 2, 3)]  # a new place in every frame
    still = [as_scan(card, 9)] * 3
    camera = FolderCamera(write_frames(tmp_path / "f", [*moving, *still]))
    assert AutoCapture(steady_frames=3).run(camera) is not None
    camera = FolderCamera(write_frames(tmp_path / "g", moving))
    assert AutoCapture(steady_frames=3).run(camera) is None


def test_an_empty_folder_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    try:
        FolderCamera(tmp_path / "empty")
    except FileNotFoundError as exc:
        assert "no images" in str(exc)
    else:
        raise AssertionError("an empty folder was accepted")


def test_frames_come_as_bgr_arrays(tmp_path):
    camera = FolderCamera(write_frames(tmp_path / "f", [as_scan(make_card(1), 1)]))
    frame = next(camera.frames())
    assert isinstance(frame, np.ndarray) and frame.shape[2] == 3
