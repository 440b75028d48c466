"""Barcodes: PDF417 licences of every AAMVA version, scanned, tilted and photographed; QR
codes with zbar; and the commands that print them."""

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp
from PIL import Image

from hardware.vision.barcodes import read_codes
from hardware.vision.card_reader import NoBarcode, read_licence
from hardware.vision.corpus import Card, as_photo, as_scan, as_tilted_licence, make_licence

FRONTDESK = Path(sys.executable).with_name("frontdesk")


def bgr(image: Image.Image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


VIEWS = {
    "scan": lambda lic, seed: as_scan(Card(lic.image, None), seed),
    "tilted": as_tilted_licence,
    "photo": lambda lic, seed: as_photo(Card(lic.image, None), seed),
}


@pytest.mark.parametrize("view", sorted(VIEWS))
@pytest.mark.parametrize("version", range(1, 11))
def test_a_licence_of_every_version_reads_in_every_view(version, view):
    licence = make_licence(100 + version, version=version)
    read = read_licence(bgr(VIEWS[view](licence, version)))
    truth = licence.truth
    assert read.aamva_version == version
    assert (read.last_name, read.first_name) == (truth.last_name, truth.first_name)
    assert (read.date_of_birth, read.expiration_date) == (
        truth.date_of_birth,
        truth.expiration_date,
    )
    assert read.license_number == truth.license_number


def test_an_image_without_a_barcode_says_so():
    with pytest.raises(NoBarcode):
        read_licence(np.full((600, 900, 3), 240, np.uint8))


def test_a_qr_code_is_read_with_zbar():
    symbol = zxingcpp.create_barcode("FDQ1.abc.def", zxingcpp.BarcodeFormat.QRCode)
    image = np.asarray(symbol.to_image(scale=8))
    page = np.full((image.shape[0] + 80, image.shape[1] + 80), 255, np.uint8)
    page[40:-40, 40:-40] = image
    assert [(c.format, c.text) for c in read_codes(page)] == [("QRCODE", "FDQ1.abc.def")]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FRONTDESK), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_id_read_prints_one_json_object(tmp_path):
    licence = make_licence(7, version=9)
    path = tmp_path / "licence.png"
    as_tilted_licence(licence, 7).save(path)
    result = run("id", "read", str(path), "--json")
    assert result.returncode == 0, result.stderr
    import json

    read = json.loads(result.stdout)
    assert set(read) == {
        "first_name", "middle_name", "last_name", "date_of_birth", "expiration_date", "sex",
        "license_number", "address_line1", "city", "state", "postal_code", "issuer_iin",
        "aamva_version",
    }  # fmt: skip
    assert read["date_of_birth"] == licence.truth.date_of_birth.isoformat()
    assert read["aamva_version"] == 9


@pytest.mark.parametrize("command", ["id", "card"])
def test_a_missing_or_broken_image_is_one_line_and_non_zero(tmp_path, command):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    for path in (tmp_path / "missing.png", broken):
        result = run(command, "read", str(path), "--json")
        assert result.returncode == 1
        assert result.stderr.startswith("frontdesk: error: ")
        assert len(result.stderr.splitlines()) == 1
        assert result.stdout == ""
