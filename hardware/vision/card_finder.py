"""Find an ID-1 card (insurance card, licence) in a scan or a photo and straighten it.

    frame ──▶ edges (Canny on a reduced copy) ──▶ the largest card-shaped quadrilateral
          ──▶ perspective warp to 1012 x 638 (CR80 at 300 dpi), landscape

A frame that is nothing but the card (a scan cropped to it) has no edge to find: when no
quadrilateral stands out, the whole frame is taken as the card and `found` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

CARD_SIZE = (1012, 638)
CARD_ASPECT = CARD_SIZE[0] / CARD_SIZE[1]  # 1.586
DETECT_WIDTH = 900

Quad = NDArray[np.float32]  # 4 x 2, clockwise from top-left
Pixels = NDArray[Any]  # an OpenCV image: BGR or grey, uint8


@dataclass(frozen=True)
class FoundCard:
    image: Pixels  # the straightened card, BGR, CARD_SIZE
    corners: Quad | None  # where it was in the frame; None when the frame is the card
    area_fraction: float  # of the frame the card covers

    @property
    def found(self) -> bool:
        return self.corners is not None


def order_corners(points: NDArray[np.float32]) -> Quad:
    """Top-left, top-right, bottom-right, bottom-left, whatever order they came in."""
    pts = points.reshape(4, 2).astype(np.float32)
    sums, diffs = pts.sum(axis=1), np.diff(pts, axis=1).ravel()
    ordered = np.array(
        [pts[np.argmin(sums)], pts[np.argmin(diffs)], pts[np.argmax(sums)], pts[np.argmax(diffs)]],
        dtype=np.float32,
    )
    return ordered


def _aspect(quad: Quad) -> float:
    top, bottom = float(np.linalg.norm(quad[1] - quad[0])), float(np.linalg.norm(quad[2] - quad[3]))
    left, right = float(np.linalg.norm(quad[3] - quad[0])), float(np.linalg.norm(quad[2] - quad[1]))
    width, height = (top + bottom) / 2, (left + right) / 2
    return max(width, height) / max(min(width, height), 1.0)


def _card_mask(small: Pixels) -> Pixels:
    """Pixels that are card rather than background: edges (the card's outline, its print)
    and anything far from the background's colour, closed into one solid region. Colour,
    not grey: an orange band on a brown table has the same brightness."""
    colour = cv2.GaussianBlur(small if small.ndim == 3 else cv2.merge([small] * 3), (9, 9), 0)
    border = np.concatenate(
        [
            colour[:6].reshape(-1, 3),
            colour[-6:].reshape(-1, 3),
            colour[:, :6].reshape(-1, 3),
            colour[:, -6:].reshape(-1, 3),
        ]
    )
    background = np.median(border, axis=0)
    distance = np.abs(colour.astype(np.float32) - background).max(axis=2)
    border_distance = np.abs(border.astype(np.float32) - background).max(axis=1)
    threshold = max(12.0, 3 * float(np.percentile(border_distance, 95)))
    mask = (distance > threshold).astype(np.uint8) * 255
    # Low thresholds: a dark band on a dark table still has an edge; the table's texture is
    # blurred away before this.
    for channel in cv2.split(colour):
        mask = cv2.bitwise_or(mask, cv2.Canny(channel, 20, 60))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((25, 25), np.uint8))
    filled = mask.copy()
    flood = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), np.uint8)
    cv2.floodFill(filled, flood, (0, 0), 255)
    return cv2.bitwise_or(mask, cv2.bitwise_not(filled))


def find_card_corners(frame: Pixels) -> tuple[Quad | None, float]:
    """The card's corners in frame pixels and the share of the frame it covers."""
    height, width = frame.shape[:2]
    scale = DETECT_WIDTH / max(width, 1)
    small = cv2.resize(
        frame, (DETECT_WIDTH, max(1, round(height * scale))), interpolation=cv2.INTER_AREA
    )
    contours, _ = cv2.findContours(_card_mask(small), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    frame_area = small.shape[0] * small.shape[1]
    best: tuple[float, Quad, float] | None = None
    for contour in contours:
        area = cv2.contourArea(contour)
        if area < 0.01 * frame_area or area > 0.98 * frame_area:
            continue
        hull = cv2.convexHull(contour)
        approx = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
        if len(approx) == 4:
            quad = order_corners(approx.astype(np.float32))
        else:
            quad = order_corners(cv2.boxPoints(cv2.minAreaRect(hull)).astype(np.float32))
        aspect_error = abs(_aspect(quad) - CARD_ASPECT) / CARD_ASPECT
        if aspect_error > 0.25:
            continue
        score = area * (1 - aspect_error)
        if best is None or score > best[0]:
            best = (score, quad, area)
    if best is None:
        return None, 1.0
    quad = _refine(best[1], _edges(small))
    return (quad / scale).astype(np.float32), best[2] / frame_area


def _edges(small: Pixels) -> Pixels:
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    return cv2.Canny(cv2.GaussianBlur(gray, (5, 5), 0), 30, 90)


def _intersection(a: Pixels, b: Pixels) -> Pixels | None:
    (vx1, vy1, x1, y1), (vx2, vy2, x2, y2) = a.ravel(), b.ravel()
    det = vx1 * (-vy2) - vy1 * (-vx2)
    if abs(det) < 1e-6:
        return None
    t = ((x2 - x1) * (-vy2) - (y2 - y1) * (-vx2)) / det
    return np.array([x1 + t * vx1, y1 + t * vy1], np.float32)


def _refine(quad: Quad, edges: Pixels, band: int = 12) -> Quad:
    """Fit each side to the straight edge pixels near it and meet them at the corners: the
    region found may bulge where a glare spot or a shadow touched the card; its edges do not."""
    lines = []
    for i in range(4):
        start, end = quad[i], quad[(i + 1) % 4]
        side = np.zeros(edges.shape, np.uint8)
        cv2.line(side, tuple(int(v) for v in start), tuple(int(v) for v in end), 255, 2 * band)
        ys, xs = np.nonzero(cv2.bitwise_and(edges, side))
        if len(xs) < 40:
            return quad
        points = np.column_stack([xs, ys]).astype(np.float32)
        lines.append(cv2.fitLine(points, cv2.DIST_HUBER, 0, 0.01, 0.01))
    corners = [_intersection(lines[i - 1], lines[i]) for i in range(4)]
    if any(c is None for c in corners):
        return quad
    refined = np.array(corners, np.float32)
    moved = float(np.abs(refined - quad).max())
    return refined if moved < 4 * band else quad


def straighten(frame: Pixels, corners: Quad) -> Pixels:
    """Warp the quadrilateral to a landscape card."""
    quad = order_corners(corners)
    if np.linalg.norm(quad[1] - quad[0]) < np.linalg.norm(quad[3] - quad[0]):
        quad = np.roll(quad, -1, axis=0)  # held in portrait: its long side is vertical
    width, height = CARD_SIZE
    target = np.array(
        [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32
    )
    matrix = cv2.getPerspectiveTransform(quad, target)
    return cv2.warpPerspective(frame, matrix, CARD_SIZE, flags=cv2.INTER_CUBIC)


def find_card(frame: Pixels) -> FoundCard:
    corners, fraction = find_card_corners(frame)
    if corners is None:
        return FoundCard(
            image=cv2.resize(frame, CARD_SIZE, interpolation=cv2.INTER_AREA),
            corners=None,
            area_fraction=1.0,
        )
    return FoundCard(image=straighten(frame, corners), corners=corners, area_fraction=fraction)
