"""``consortium bench ocr``: the OCR intake over generated documents: how many fields it reads right, how many VINs
exactly, and how long a page takes."""

from __future__ import annotations

from typing import Any

from consortium_portal.intake.fields import FIELD_NAMES
from consortium_portal.intake.ocr import check_engine, read_page
from consortium_portal.tools.papers import generate


def ocr_report(*, documents: int = 56, seed: int = 7) -> dict[str, Any]:
    """Field accuracy (fields read exactly right over fields the pages carry), VIN exact matches, doc type matches,
    per-field accuracy and milliseconds of OCR per page (Tesseract alone, not extraction or rendering)."""
    version = check_engine()
    right: dict[str, int] = dict.fromkeys(FIELD_NAMES, 0)
    carried: dict[str, int] = dict.fromkeys(FIELD_NAMES, 0)
    vin_exact = doc_type_right = 0
    ms = 0.0
    for document in generate(seed, documents):
        reading = read_page(document.image)
        ms += reading.ms
        doc_type_right += reading.fields.doc_type == document.truth.doc_type
        vin_exact += reading.fields.vin == document.truth.vin
        for name in FIELD_NAMES:
            truth = getattr(document.truth, name)
            if truth is None:
                continue
            carried[name] += 1
            right[name] += getattr(reading.fields, name) == truth
    return {
        "documents": documents,
        "seed": seed,
        "tesseract": version,
        "field_accuracy": round(sum(right.values()) / sum(carried.values()), 4),
        "vin_exact": round(vin_exact / documents, 4),
        "doc_type_accuracy": round(doc_type_right / documents, 4),
        "ms_per_page": round(ms / documents, 1),
        "per_field": {name: round(right[name] / carried[name], 4) for name in FIELD_NAMES if carried[name]},
    }
