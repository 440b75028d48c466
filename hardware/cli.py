"""`frontdesk card read` and `frontdesk id read`: one JSON object on stdout, for technicians
and tests; a bad or unreadable image is one line on stderr and a non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from shared.errors import AppError

card_app = typer.Typer(help="Insurance cards: read the fields.", no_args_is_help=True)
id_app = typer.Typer(help="Driver's licences and ID cards: read the barcode.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(card_app, name="card")
    root.add_typer(id_app, name="id")


@card_app.command("read")
def card_read(
    image: Annotated[Path, typer.Argument(help="The front of the card")],
    back: Annotated[Path | None, typer.Option("--back", help="The back of the card")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object (the default)")] = True,
) -> None:
    """Find the card, check the picture, and read its fields with a confidence for each."""
    from hardware.vision.card_reader import UnreadableImage, load_image, read_insurance_card
    from hardware.vision.ocr import OcrUnavailable

    try:
        front_pixels = load_image(image)
        back_pixels = load_image(back) if back is not None else None
        result = read_insurance_card(front_pixels, back_pixels)
    except (UnreadableImage, OcrUnavailable) as exc:
        raise AppError(str(exc)) from exc
    typer.echo(json.dumps(result.to_json()))


@id_app.command("read")
def id_read(
    image: Annotated[Path, typer.Argument(help="The back of the licence, with its PDF417")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object (the default)")] = True,
) -> None:
    """Decode the licence's PDF417 and parse its AAMVA data."""
    from hardware.vision.aamva import AamvaError
    from hardware.vision.card_reader import NoBarcode, UnreadableImage, load_image, read_licence

    try:
        licence = read_licence(load_image(image))
    except (UnreadableImage, NoBarcode, AamvaError) as exc:
        raise AppError(str(exc)) from exc
    typer.echo(json.dumps(licence.to_json()))
