"""The project's own test corpus: insurance cards and licences drawn from a seed, each with
its ground truth, then scanned, tilted or photographed.

    make_card(seed) ──▶ flat card (CR80 at 300 dpi) + CardTruth
        ├── as_scan      on a scanner bed, straight, a little noise
        ├── as_tilted    on a scanner bed, turned 4 to 15 degrees
        └── as_photo     on a table, in perspective, uneven light, a glare spot, sensor noise

Everything is deterministic for a seed, so tests regenerate what they need instead of
keeping images in git.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

CARD_SIZE = (1012, 638)  # CR80, 3.375 x 2.125 in, at 300 dpi
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/truetype/liberation2"),
)
REGULAR_FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSansCondensed.ttf",
    "LiberationSans-Regular.ttf",
    "LiberationSerif-Regular.ttf",
)
BOLD_FONTS = (
    "DejaVuSans-Bold.ttf",
    "DejaVuSansCondensed-Bold.ttf",
    "LiberationSans-Bold.ttf",
    "LiberationSerif-Bold.ttf",
)

# (name printed on the card, its plans)
PAYERS = (
    ("Aetna", ("Open Access Managed Choice", "Aetna Choice POS II", "HMO")),
    ("Cigna", ("Open Access Plus", "LocalPlus", "Connect")),
    ("UnitedHealthcare", ("Choice Plus", "Navigate", "Options PPO")),
    ("Humana", ("Gold Plus HMO", "ChoiceCare PPO", "Medicare Advantage")),
    ("Blue Cross Blue Shield", ("Blue Advantage PPO", "BlueCard PPO", "Blue Choice")),
    ("Anthem Blue Cross", ("Pathway X", "Blue Access PPO", "HMO Select")),
    ("Kaiser Permanente", ("Gold 80 HMO", "Silver 70 HMO", "Platinum 90")),
    ("Molina Healthcare", ("Marketplace Silver", "Medicaid", "Bronze 250")),
    ("Oscar Health", ("Simple Silver", "Classic Gold", "Bronze Saver")),
    ("Ambetter", ("Balanced Care 12", "Essential Care 1", "Secure Care 5")),
)
LABELS = {
    "member_id": ("Member ID", "ID", "ID #", "Identification No.", "Subscriber ID", "Member ID#"),
    "group_number": ("Group", "Group #", "Group No.", "GRP#", "Group Number"),
    "member_name": ("Member", "Member Name", "Name", "Subscriber"),
    "plan_name": ("Plan", "Plan Name", "Product"),
    "rx_bin": ("RxBIN", "BIN", "Rx BIN"),
    "rx_pcn": ("RxPCN", "PCN", "Rx PCN"),
    "rx_group": ("RxGRP", "RxGroup", "Rx GRP"),
    "copay_primary_care": ("PCP", "Office Visit", "Primary Care"),
    "copay_specialist": ("Specialist", "SPC", "Spec"),
    "copay_urgent_care": ("Urgent Care", "UC"),
    "copay_emergency": ("ER", "Emergency", "Emergency Room"),
}
FIRST_NAMES = (
    "Maria",
    "James",
    "Aisha",
    "Wei",
    "Olivia",
    "Diego",
    "Hannah",
    "Kwame",
    "Sofia",
    "Liam",
)
LAST_NAMES = (
    "Garcia",
    "Johnson",
    "Okafor",
    "Nguyen",
    "Patel",
    "Kowalski",
    "Haddad",
    "Brown",
    "Silva",
    "Chen",
)
COPAYS = (
    "0",
    "10",
    "15",
    "20",
    "25",
    "30",
    "35",
    "40",
    "50",
    "60",
    "75",
    "100",
    "150",
    "250",
    "300",
)
INKS = ((20, 20, 30), (10, 30, 80), (40, 40, 40), (0, 60, 50))
BANDS = ((0, 82, 155), (120, 20, 60), (0, 110, 90), (70, 40, 130), (200, 90, 0), (30, 30, 30))


@dataclass(frozen=True)
class CardTruth:
    payer_name: str
    plan_name: str
    member_name: str
    member_id: str
    group_number: str
    rx_bin: str
    rx_pcn: str
    rx_group: str
    copay_primary_care: str
    copay_specialist: str
    copay_urgent_care: str
    copay_emergency: str

    def fields(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class Card:
    image: Image.Image
    truth: CardTruth
    design: dict[str, object] = field(default_factory=dict)


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    for folder in FONT_DIRS:
        if (folder / name).exists():
            return ImageFont.truetype(str(folder / name), size)
    raise FileNotFoundError(
        f"font {name} is missing: install fonts-dejavu-core and fonts-liberation2"
    )


def _member_id(rng: random.Random) -> str:
    style = rng.randrange(3)
    if style == 0:
        return rng.choice("WXUJ") + "".join(rng.choice("0123456789") for _ in range(9))
    if style == 1:
        prefix = "".join(rng.choice("ABCDEFGHJKMNPRTUVWXYZ") for _ in range(3))
        return prefix + "".join(rng.choice("0123456789") for _ in range(9))
    return "".join(rng.choice("0123456789") for _ in range(11))


def _dollars(amount: str) -> str:
    return f"{int(amount)}.00"


def make_truth(rng: random.Random) -> CardTruth:
    payer, plans = rng.choice(PAYERS)
    copays = sorted(rng.sample(COPAYS, 4), key=int)
    return CardTruth(
        payer_name=payer,
        plan_name=rng.choice(plans),
        member_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        member_id=_member_id(rng),
        group_number="".join(rng.choice("0123456789") for _ in range(rng.choice((6, 7, 8)))),
        rx_bin="".join(rng.choice("0123456789") for _ in range(6)),
        rx_pcn=rng.choice(("ADV", "9999", "CTRXCOM", "OHCP", "MEDDADV", "WU")),
        rx_group=rng.choice(("RX1234", "HUMANA", "UHEALTH", "CIGNARX", "AETNA01", "RX8826")),
        copay_primary_care=_dollars(copays[0]),
        copay_specialist=_dollars(copays[1]),
        copay_urgent_care=_dollars(copays[2]),
        copay_emergency=_dollars(copays[3]),
    )


def make_card(seed: int) -> Card:
    """A front side: a coloured band with the payer, then labelled fields in one column or two,
    then a copay grid."""
    rng = random.Random(seed)
    truth = make_truth(rng)
    width = CARD_SIZE[0]
    paper = rng.choice(((255, 255, 255), (246, 248, 252), (252, 250, 240), (240, 246, 250)))
    image = Image.new("RGB", CARD_SIZE, paper)
    draw = ImageDraw.Draw(image)
    band = rng.choice(BANDS)
    band_height = rng.randrange(110, 150)
    draw.rectangle((0, 0, width, band_height), fill=band)
    regular, bold = rng.randrange(len(REGULAR_FONTS)), rng.randrange(len(BOLD_FONTS))
    title = _font(BOLD_FONTS[bold], rng.randrange(52, 64))
    draw.text(
        (40, band_height // 2), truth.payer_name, font=title, fill=(255, 255, 255), anchor="lm"
    )
    size = rng.randrange(30, 36)
    label_font, value_font = _font(BOLD_FONTS[bold], size), _font(REGULAR_FONTS[regular], size)
    ink = rng.choice(INKS)
    colon = rng.random() < 0.6
    labels = {k: rng.choice(v) for k, v in LABELS.items()}

    def pair(x: int, y: int, key: str) -> None:
        label = labels[key] + (":" if colon else "")
        draw.text((x, y), label, font=label_font, fill=ink)
        gap = draw.textlength(label, font=label_font) + size * 0.6
        draw.text((x + gap, y), str(getattr(truth, key)), font=value_font, fill=ink)

    line = size + 14
    y = band_height + 24
    two_columns = rng.random() < 0.5
    if two_columns:
        left = ("member_name", "member_id", "group_number", "plan_name")
        right = ("rx_bin", "rx_pcn", "rx_group")
        for i, key in enumerate(left):
            pair(40, y + i * line, key)
        for i, key in enumerate(right):
            pair(width // 2 + 120, y + i * line, key)
        y += len(left) * line + 12
    else:
        for key in ("member_name", "member_id", "group_number", "plan_name"):
            pair(40, y, key)
            y += line
        draw.text(
            (40, y),
            f"{labels['rx_bin']} {truth.rx_bin}   {labels['rx_pcn']} {truth.rx_pcn}   "
            f"{labels['rx_group']} {truth.rx_group}",
            font=value_font,
            fill=ink,
        )
        y += line + 12
    copay_keys = ("copay_primary_care", "copay_specialist", "copay_urgent_care", "copay_emergency")
    draw.line((40, y - 6, width - 40, y - 6), fill=band, width=3)
    for i, key in enumerate(copay_keys):
        x = 40 + (i % 2) * (width // 2 - 20)
        row = y + (i // 2) * line
        amount = getattr(truth, key).removesuffix(".00")
        draw.text((x, row), f"{labels[key]} ${amount}", font=value_font, fill=ink)
    design = {
        "two_columns": two_columns,
        "colon": colon,
        "labels": labels,
        "font": REGULAR_FONTS[regular],
    }
    return Card(image=image, truth=truth, design=design)


# --- how the card reaches the camera ----------------------------------------------------


def _on_background(
    card: Image.Image,
    size: tuple[int, int],
    colour: tuple[int, int, int],
    angle: float,
    rng: random.Random,
) -> Image.Image:
    """The card on a scanner bed, with the thin shadow its edge casts under the lamp."""
    turned = card.convert("RGBA").rotate(angle, expand=True, resample=Image.Resampling.BICUBIC)
    page = Image.new("RGB", size, colour)
    x = rng.randrange(40, max(41, size[0] - turned.width - 40))
    y = rng.randrange(40, max(41, size[1] - turned.height - 40))
    shadow = Image.new("RGBA", turned.size, (90, 90, 90, 0))
    shadow.putalpha(
        turned.getchannel("A").filter(ImageFilter.GaussianBlur(3)).point(lambda a: a // 2)
    )
    page.paste(shadow, (x + 3, y + 3), shadow)
    page.paste(turned, (x, y), turned)
    return page


def _noise(image: Image.Image, rng: random.Random, sigma: float) -> Image.Image:
    pixels = np.asarray(image).astype(np.int16)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, sigma, pixels.shape)
    return Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))


def as_scan(card: Card, seed: int) -> Image.Image:
    rng = random.Random(seed)
    page = _on_background(card.image, (1400, 1000), (250, 250, 250), rng.uniform(-1.5, 1.5), rng)
    return _noise(page, rng, 3).filter(ImageFilter.GaussianBlur(0.4))


def as_tilted(card: Card, seed: int) -> Image.Image:
    rng = random.Random(seed)
    angle = rng.choice((-1, 1)) * rng.uniform(4, 15)
    page = _on_background(card.image, (1500, 1200), (248, 248, 245), angle, rng)
    return _noise(page, rng, 3).filter(ImageFilter.GaussianBlur(0.5))


def as_photo(card: Card, seed: int) -> Image.Image:
    """On a wooden-ish table, seen at an angle, lit from one side, with a soft glare spot."""
    rng = random.Random(seed)
    size = (1600, 1200)
    table = np.zeros((size[1], size[0], 3), np.float32)
    base = np.array(
        rng.choice(((120, 85, 55), (90, 90, 95), (60, 70, 80), (140, 120, 100))), np.float32
    )
    grain = np.random.default_rng(rng.randrange(2**32)).normal(0, 8, (size[1], 1, 1))
    table[:] = base + grain
    w, h = CARD_SIZE
    scale = rng.uniform(1.05, 1.25)
    cx, cy = size[0] / 2 + rng.uniform(-120, 120), size[1] / 2 + rng.uniform(-80, 80)
    angle = math.radians(rng.uniform(-12, 12))
    corners = []
    for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        x = dx * scale * math.cos(angle) - dy * scale * math.sin(angle)
        y = dx * scale * math.sin(angle) + dy * scale * math.cos(angle)
        corners.append((cx + x + rng.uniform(-35, 35), cy + y + rng.uniform(-25, 25)))
    coefficients = _perspective_coefficients(corners, [(0, 0), (w, 0), (w, h), (0, h)])
    card_layer = card.image.convert("RGBA").transform(
        size, Image.Transform.PERSPECTIVE, coefficients, resample=Image.Resampling.BICUBIC
    )
    photo = Image.fromarray(table.clip(0, 255).astype(np.uint8))
    photo.paste(card_layer, (0, 0), card_layer)
    pixels = np.asarray(photo).astype(np.float32)
    ys, xs = np.mgrid[0 : size[1], 0 : size[0]]
    light = 0.75 + 0.35 * (xs / size[0] if rng.random() < 0.5 else 1 - xs / size[0])
    gx, gy = rng.uniform(0.2, 0.8) * size[0], rng.uniform(0.2, 0.8) * size[1]
    glare = 60 * np.exp(-(((xs - gx) ** 2 + (ys - gy) ** 2) / (2 * 70.0**2)))
    pixels = pixels * light[..., None] + glare[..., None]
    photo = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
    return _noise(photo, rng, 5).filter(ImageFilter.GaussianBlur(0.7))


def _perspective_coefficients(
    target: list[tuple[float, float]], source: list[tuple[float, float]]
) -> tuple[float, ...]:
    """PIL's PERSPECTIVE takes the map from output pixels back to input pixels."""
    rows = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(rows, dtype=np.float64)
    b = np.array([c for point in source for c in point], dtype=np.float64)
    return tuple(np.linalg.solve(a, b).tolist())


CONDITIONS = {"scan": as_scan, "tilted": as_tilted, "photo": as_photo}


# --- licences -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LicenceTruth:
    first_name: str
    middle_name: str | None
    last_name: str
    suffix: str | None
    date_of_birth: date
    expiration_date: date
    issue_date: date
    sex: str
    license_number: str
    address_line1: str
    address_line2: str | None
    city: str
    state: str
    postal_code: str
    country: str


@dataclass
class Licence:
    image: Image.Image  # the back of the card, with its PDF417
    truth: LicenceTruth
    version: int
    iin: str
    payload: str


STATES = (("VA", "636000", "Richmond", "23219"), ("NY", "636001", "Albany", "12207"),
          ("TX", "636015", "Austin", "78701"), ("CA", "636014", "Sacramento", "95814"),
          ("MA", "636002", "Boston", "02110"))  # fmt: skip


def make_licence(seed: int, *, version: int | None = None) -> Licence:
    """The back of a US licence: a PDF417 of an AAMVA payload (a random version 1-10 unless
    given), some printed lines, and the card's colour."""
    import zxingcpp

    from hardware.vision.aamva_encode import encode

    rng = random.Random(seed)
    version = version if version is not None else rng.randrange(1, 11)
    state, iin, city, zip_code = rng.choice(STATES)
    born = date(rng.randrange(1940, 2006), rng.randrange(1, 13), rng.randrange(1, 29))
    issued = date(rng.randrange(2019, 2026), rng.randrange(1, 13), rng.randrange(1, 29))
    truth = LicenceTruth(
        first_name=rng.choice(FIRST_NAMES),
        middle_name=rng.choice((None, "Ann", "Lee", "Marie", "James")),
        last_name=rng.choice(LAST_NAMES),
        suffix=None,
        date_of_birth=born,
        expiration_date=issued.replace(year=issued.year + 8),
        issue_date=issued,
        sex=rng.choice(("M", "F")),
        license_number=rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") + f"{rng.randrange(10**7, 10**8)}",
        address_line1=f"{rng.randrange(1, 9999)} {rng.choice(('Main', 'Oak', 'Elm', 'Park'))} St",
        address_line2=None,
        city=city,
        state=state,
        postal_code=zip_code,
        country="USA",
    )
    payload = encode(truth, version=version, iin=iin)
    # Error correction level 5, within what issuers print (the standard asks for 3 or more).
    barcode = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.PDF417, ec_level="5")
    code = Image.fromarray(np.asarray(barcode.to_image(scale=3))).convert("RGB")
    width, height = CARD_SIZE
    back = Image.new("RGB", CARD_SIZE, rng.choice(((248, 246, 240), (240, 244, 250))))
    draw = ImageDraw.Draw(back)
    code = code.resize(
        (width - 120, min(height - 200, round(code.height * (width - 120) / code.width)))
    )
    back.paste(code, (60, 60))
    small = _font(REGULAR_FONTS[0], 22)
    draw.text(
        (60, height - 110),
        "This card is the property of the issuing state.",
        font=small,
        fill=(60, 60, 60),
    )
    draw.text(
        (60, height - 75),
        f"{state} DMV  ·  audit {rng.randrange(10**9)}",
        font=small,
        fill=(60, 60, 60),
    )
    return Licence(image=back, truth=truth, version=version, iin=iin, payload=payload)


def as_tilted_licence(licence: Licence, seed: int) -> Image.Image:
    """Up to 15 degrees, which the issue's accuracy target covers."""
    rng = random.Random(seed)
    angle = rng.choice((-1, 1)) * rng.uniform(2, 15)
    page = _on_background(licence.image, (1500, 1200), (248, 248, 245), angle, rng)
    return _noise(page, rng, 3).filter(ImageFilter.GaussianBlur(0.5))
