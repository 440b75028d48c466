"""Validate X12 with pyx12 (`x12n_document` and its bundled maps) into plain findings.

pyx12 reports through a tree of error nodes; we read it through its JSON visitor and flatten
it to `Finding`s (segment, position in the file, code, message). An empty list means pyx12
accepts the file. pyx12 logs every error with the offending value (a birth date, a member
id): its logger is cut off here so that no PHI reaches our logs; the findings carry the
messages to whoever asked.

Speed: pyx12 loads its map for every document (~0.2 s), then walks each segment; validate
many claims as one interchange, not one file per claim (`benchmarks/x12_claims.py`).
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyx12.errors
import pyx12.params
import pyx12.x12n_document

__all__ = ["Finding", "validate_x12", "validate_x12_file"]

_pyx12_log = logging.getLogger("pyx12")
_pyx12_log.addHandler(logging.NullHandler())
_pyx12_log.propagate = False


@dataclass(frozen=True)
class Finding:
    """One thing pyx12 rejects: the segment id, its position (1 = the ISA; None when pyx12
    could not tell), pyx12's error code (the 999 IK3/IK4/IK5/AK9 codes) and its message."""

    segment: str
    position: int | None
    code: str
    message: str
    element: str | None = None  # e.g. "DMG02" or "SV101-3"

    def __str__(self) -> str:
        where = self.segment if self.element is None else self.element
        at = f" (segment {self.position})" if self.position is not None else ""
        return f"{where}{at}: {self.message} [{self.code}]"


def validate_x12(text: str) -> list[Finding]:
    """Findings for X12 text; [] when pyx12 finds nothing wrong."""
    if not text.lstrip().startswith("ISA"):
        return [Finding("ISA", None, "not-x12", "does not start with an ISA segment")]
    report = io.StringIO()
    try:
        valid = pyx12.x12n_document.x12n_document(
            pyx12.params.params(), io.StringIO(text), None, None, fd_json=report
        )
    except pyx12.errors.EngineError as error:  # e.g. no map for this GS08 version
        return [Finding("GS", None, "no-map", str(error))]
    except pyx12.errors.X12Error as error:
        return [Finding("ISA", None, "unreadable", str(error))]
    findings = _findings(json.loads(report.getvalue()) if report.getvalue() else {})
    if not valid and not findings:
        findings.append(Finding("ISA", None, "invalid", "pyx12 rejected the file"))
    return findings


def validate_x12_file(path: str | Path) -> list[Finding]:
    """Findings for an X12 file (read as ASCII-compatible text)."""
    return validate_x12(Path(path).read_text(encoding="latin-1"))


def _findings(report: dict[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    for interchange in report.get("interchanges", []):
        findings += _envelope("ISA", interchange)
        for group in interchange.get("groups", []):
            findings += _envelope("GS", group)
            for transaction in group.get("transactions", []):
                findings += _envelope("ST", transaction)
                for seg in transaction.get("segments", []):
                    findings += _segment(seg)
    return findings


def _envelope(segment_id: str, node: dict[str, Any]) -> list[Finding]:
    return [
        Finding(segment_id, node.get("cur_line"), str(error["err_cde"]), error["err_str"])
        for error in node.get("errors", [])
    ]


def _segment(seg: dict[str, Any]) -> list[Finding]:
    segment_id, position = seg["seg_id"], seg.get("cur_line")
    findings = [
        Finding(segment_id, position, str(error["err_cde"]), error["err_str"])
        for error in seg.get("errors", [])
    ]
    for element in seg.get("elements", []):
        name = f"{segment_id}{int(element['ele_pos']):02d}"
        if element.get("subele_pos"):
            name += f"-{element['subele_pos']}"
        findings += [
            Finding(segment_id, position, str(error["err_cde"]), error["err_str"], name)
            for error in element.get("errors", [])
        ]
    return findings
