"""Reading a page: an uploaded image decoded and checked, then Tesseract (Debian's ``tesseract-ocr`` with the
``chi_sim`` and ``eng`` models; ``make install-ocr``) through pytesseract.

Bad input is said plainly: bytes that are no image (:class:`NotAnImageError`), an image too large to decode safely
(:class:`ImageTooLargeError`), a page from which no text could be read (:class:`UnreadableImageError`).
"""

from __future__ import annotations

import io
import logging
import time
import warnings
from dataclasses import dataclass
from functools import cache
from typing import Final

import pytesseract
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from consortium_portal.errors import InvalidInputError, PortalError
from consortium_portal.intake.fields import ExtractedFields, extract

logger = logging.getLogger(__name__)

LANGUAGES: Final = "chi_sim+eng"
TESSERACT_CONFIG: Final = "--psm 6"
"""One uniform block of text: keeps a label and its value on one line."""
MAX_PIXELS: Final = 40_000_000
"""Larger images are refused before decoding (a decompression bomb must not exhaust memory)."""
MIN_SIDE: Final = 200
TARGET_WIDTH: Final = 1200
"""Pages are scaled to about this width before OCR (Tesseract reads body text best at 20-40 px letters)."""
BINARY_THRESHOLD: Final = 150
MIN_TEXT: Final = 8
"""Fewer letters and digits than this and the page counts as unreadable."""


class OcrUnavailableError(PortalError):
    status = 503
    code = "ocr_unavailable"


class NotAnImageError(PortalError):
    status = 415
    code = "unsupported_file"


class ImageTooLargeError(PortalError):
    status = 413
    code = "too_large"


class UnreadableImageError(InvalidInputError):
    code = "unreadable_image"


@dataclass(frozen=True)
class PageReading:
    text: str
    fields: ExtractedFields
    ms: float


@cache
def check_engine() -> str:
    """Tesseract's version, once the engine and both language models are found; else OcrUnavailableError."""
    try:
        version = str(pytesseract.get_tesseract_version())
        languages = set(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractNotFoundError, OSError) as exc:
        raise OcrUnavailableError(f"Tesseract is not installed here ({exc}): make install-ocr") from None
    missing = {"chi_sim", "eng"} - languages
    if missing:
        raise OcrUnavailableError(f"Tesseract lacks the {', '.join(sorted(missing))} model: make install-ocr")
    return version


def open_image(content: bytes) -> Image.Image:
    """The decoded image (orientation from its EXIF applied), or a clear error."""
    if not content:
        raise NotAnImageError("the upload is empty: send a PNG or JPEG photo or scan")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content))
            if image.width * image.height > MAX_PIXELS:
                raise ImageTooLargeError(
                    f"the image is {image.width}x{image.height} pixels; at most {MAX_PIXELS:,} pixels are read"
                )
            if image.format not in ("PNG", "JPEG"):
                raise NotAnImageError(f"{image.format} images are not read: send a PNG or JPEG photo or scan")
            image.load()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageTooLargeError(f"the image is too large to decode (more than {MAX_PIXELS:,} pixels)") from None
    except UnidentifiedImageError:
        raise NotAnImageError("the upload is not an image: send a PNG or JPEG photo or scan") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise NotAnImageError(f"the image cannot be decoded ({exc}): it may be truncated or corrupt") from None
    if min(image.size) < MIN_SIDE:
        raise UnreadableImageError(
            f"the image is {image.width}x{image.height} pixels: too small to read (at least {MIN_SIDE} a side)"
        )
    return ImageOps.exif_transpose(image)


def _prepare(image: Image.Image) -> Image.Image:
    """Grey, scaled to about ``TARGET_WIDTH``, speckles removed (a 3x3 median), then black on white."""
    gray = ImageOps.grayscale(image)
    if abs(gray.width - TARGET_WIDTH) > TARGET_WIDTH // 4:
        scale = TARGET_WIDTH / gray.width
        gray = gray.resize((TARGET_WIDTH, max(1, round(gray.height * scale))), Image.Resampling.LANCZOS)
    gray = ImageOps.autocontrast(gray.filter(ImageFilter.MedianFilter(3)), cutoff=1)
    return gray.point(lambda v: 255 if v > BINARY_THRESHOLD else 0)


def read_page(image: Image.Image) -> PageReading:
    """Tesseract's text of the page and the fields in it; UnreadableImageError when it holds no readable text."""
    check_engine()
    started = time.perf_counter()
    try:
        text = pytesseract.image_to_string(_prepare(image), lang=LANGUAGES, config=TESSERACT_CONFIG, timeout=60)
    except RuntimeError as exc:  # pytesseract's timeout
        raise UnreadableImageError(f"reading the page took too long ({exc})") from None
    ms = (time.perf_counter() - started) * 1000
    if sum(c.isalnum() for c in text) < MIN_TEXT:
        raise UnreadableImageError("no text could be read from the image: send a sharper, well-lit photo or scan")
    return PageReading(text=text, fields=extract(text), ms=ms)
