"""OCR intake: the VIN check, field extraction from text, and the real Tesseract on rendered pages."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from consortium_portal.intake.fields import DocType, check_digit_mandatory, extract, read_vin, vin_problem
from consortium_portal.intake.ocr import (
    ImageTooLargeError,
    NotAnImageError,
    UnreadableImageError,
    open_image,
    read_page,
)
from consortium_portal.tools.papers import generate, make_vin, wrong_check_digit


def test_vin_check_digit() -> None:
    assert vin_problem("1M8GDM9AXKP042788") is None  # the 49 CFR 565 example: check digit X
    assert vin_problem("LSVJETH80N5183294") is None
    wrong = vin_problem("1M8GDM9A1KP042788")
    assert wrong is not None
    assert "check digit" in wrong
    assert "expected 'X'" in wrong
    assert "17 characters" in (vin_problem("1M8GDM9AXKP04278") or "")
    assert "I, O and Q" in (vin_problem("1M8GDM9AXKP0427O8") or "")
    rng = random.Random(3)
    for _ in range(50):
        vin = make_vin(rng, chinese=rng.random() < 0.5)
        assert vin_problem(vin) is None
        assert vin_problem(wrong_check_digit(vin)) is not None
    assert check_digit_mandatory("1HGCM82633A004352")
    assert check_digit_mandatory("LSVJETH80N5183294")
    assert not check_digit_mandatory("WVWZZZ1JZXW000001")


def test_read_vin_fixes_only_what_the_check_digit_confirms() -> None:
    assert read_vin("1M8GDM9AXKP042799") == "1M8GDM9AXKP042799"  # no single confusion fixes it: left as read
    assert read_vin("1M8GDM9AXKPO42788") == "1M8GDM9AXKP042788"  # O is never in a VIN
    assert read_vin("1M8GDM9AXKP0427B8") == "1M8GDM9AXKP042788"  # B/8, confirmed by the check digit
    assert read_vin("1M8GDM9AXKP0427888") == "1M8GDM9AXKP042788"  # one character too many


CHINESE_REGISTRATION = """
机 动 车 登 记 证 书
机 动 车 所 有 人 ：  王 伟
号 牌 号 码 ：  沪A·12345
车 辆 识 别 代 号 ：  LSVJETH80N5183294
登 记 日 期 ：  2024年03月05日
住所：上海市浦东新区世纪大道100号
"""

ENGLISH_REPAIR = """VEHICLE REPAIR BILL
Phone:        555-123
Customer:     James Taylor
Plate number: 7ABC123
VIN:          1M8GDM9AXKP O42788
Repair date:  5 Jun 2019
Total:        CNY 16,970.00
Odometer:     74,628 km
"""


def test_extract_from_chinese_and_english_text() -> None:
    zh = extract(CHINESE_REGISTRATION)
    assert (zh.doc_type, zh.language) == (DocType.REGISTRATION, "zh")
    assert (zh.owner_name, zh.plate, zh.vin, zh.date) == ("王伟", "沪A12345", "LSVJETH80N5183294", "2024-03-05")
    en = extract(ENGLISH_REPAIR)
    assert (en.doc_type, en.language) == (DocType.REPAIR, "en")
    assert (en.owner_name, en.plate, en.vin) == ("James Taylor", "7ABC123", "1M8GDM9AXKP042788")
    assert (en.date, en.amount_cny, en.mileage_km) == ("2019-06-05", 16970, 74628)
    invoice = extract("机动车销售统一发票\n购买方名称：李娜\n开票日期：2021-11-30\n价税合计：¥156,800.00\n")
    assert (invoice.doc_type, invoice.owner_name, invoice.amount_cny) == (DocType.INVOICE, "李娜", 156800)
    assert extract("nothing here").vin is None


def test_tesseract_reads_rendered_pages() -> None:
    """Real OCR on generated pages: a Chinese registration certificate and an English repair bill."""
    documents = generate(7, 6)
    zh, en = documents[0], documents[5]
    assert (zh.truth.doc_type, zh.truth.language) == (DocType.REGISTRATION, "zh")
    assert (en.truth.doc_type, en.truth.language) == (DocType.REPAIR, "en")
    right = carried = 0
    for document in (zh, en):
        reading = read_page(open_image(document.png()))
        assert reading.fields.doc_type == document.truth.doc_type
        assert reading.fields.vin == document.truth.vin
        for name in ("plate", "owner_name", "date", "amount_cny", "mileage_km"):
            truth = getattr(document.truth, name)
            if truth is not None:
                carried += 1
                right += getattr(reading.fields, name) == truth
    assert right >= carried - 2, f"{right} of {carried} fields read right"


def test_bad_images_are_refused_clearly() -> None:
    with pytest.raises(NotAnImageError, match="not an image"):
        open_image(b"%PDF-1.7 not a photo")
    with pytest.raises(NotAnImageError, match="empty"):
        open_image(b"")
    with pytest.raises(NotAnImageError, match="truncated or corrupt"):
        open_image(generate(1, 1)[0].png()[:4000])
    blank = Image.new("L", (800, 600), 255)
    with pytest.raises(UnreadableImageError, match="no text could be read"):
        read_page(blank)
    huge = Image.new("1", (8000, 6000), 1)
    out = io.BytesIO()
    huge.save(out, format="PNG")
    with pytest.raises(ImageTooLargeError, match="at most"):
        open_image(out.getvalue())
