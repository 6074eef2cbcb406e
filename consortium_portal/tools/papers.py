"""Realistic vehicle papers rendered as images, with the fields they carry: for tests and ``consortium bench ocr``.

Each page is a registration certificate, a purchase invoice, a repair bill or an insurance policy, in Chinese (a VIN
of a Chinese maker, a Chinese plate and name) or English (a North American VIN, a US-style plate, a Latin name),
drawn with Debian's WenQuanYi Zen Hei font (``fonts-wqy-zenhei``; ``make install-ocr``) among lines that carry no
field (addresses, phone numbers, reference numbers), then scanned badly: a grey, speckled page, a little blur, turned
by up to ``max_rotation`` degrees. The same seed gives the same documents.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Final

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from consortium_portal.intake.fields import DocType, ExtractedFields
from node_adapter.encoding import vin_check_digit

FONT_PATHS: Final = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)


class FontMissingError(RuntimeError):
    """No CJK-capable font is installed."""


@cache
def cjk_font_path() -> Path:
    for path in FONT_PATHS:
        if path.exists():
            return path
    raise FontMissingError("no CJK font found: install Debian's fonts-wqy-zenhei (make install-ocr)")


@dataclass(frozen=True)
class GeneratedDocument:
    truth: ExtractedFields
    """The fields the page carries (doc_type and language included)."""
    image: Image.Image

    def png(self) -> bytes:
        out = io.BytesIO()
        self.image.save(out, format="PNG")
        return out.getvalue()

    def jpeg(self, quality: int = 85) -> bytes:
        out = io.BytesIO()
        self.image.convert("RGB").save(out, format="JPEG", quality=quality)
        return out.getvalue()


_VIN_CHARS: Final = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_CN_WMI: Final = ("LSV", "LFV", "LGB", "LHG", "LVS", "LBV", "LGW", "LNB")
_NA_WMI: Final = ("1HG", "1FA", "2T1", "3VW", "4T1", "5YJ", "1G1", "2HG")
_PROVINCES: Final = "京沪粤苏浙川鄂鲁"
_PLATE_CHARS: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
_SURNAMES: Final = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林"
_GIVEN: Final = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
_FIRST: Final = ("James", "Mary", "Robert", "Linda", "David", "Susan", "Daniel", "Karen", "Thomas", "Nancy")
_LAST: Final = ("Smith", "Johnson", "Brown", "Miller", "Wilson", "Moore", "Taylor", "Clark", "Walker", "Young")
_MONTH_NAMES: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def make_vin(rng: random.Random, *, chinese: bool) -> str:
    """A VIN with a valid check digit (WMI of a Chinese or a North American maker)."""
    wmi = rng.choice(_CN_WMI if chinese else _NA_WMI)
    body = wmi + "".join(rng.choice(_VIN_CHARS) for _ in range(5)) + "0" + rng.choice("NPRS") + rng.choice("ABCDE")
    body += "".join(rng.choice("0123456789") for _ in range(6))
    return body[:8] + vin_check_digit(body) + body[9:]


def wrong_check_digit(vin: str) -> str:
    """``vin`` with another digit at position 9."""
    digit = vin[8]
    other = "0123456789X"[("0123456789X".index(digit) + 3) % 11]
    return vin[:8] + other + vin[9:]


def _fields(rng: random.Random, doc_type: DocType, chinese: bool) -> ExtractedFields:
    day = date(2019, 1, 1) + timedelta(days=rng.randrange(6 * 365))
    if chinese:
        plate = rng.choice(_PROVINCES) + rng.choice("ABCDE") + "".join(rng.choice(_PLATE_CHARS) for _ in range(5))
        owner = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2)))
    else:
        plate = str(rng.randint(1, 9)) + "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3))
        plate += "".join(rng.choice("0123456789") for _ in range(3))
        owner = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    fields = ExtractedFields(
        doc_type=doc_type, language="zh" if chinese else "en", vin=make_vin(rng, chinese=chinese), date=day.isoformat()
    )
    fields.owner_name = owner
    if doc_type != DocType.INVOICE:
        fields.plate = plate
    if doc_type == DocType.INVOICE:
        fields.amount_cny = rng.randrange(60_000, 600_000, 100)
    elif doc_type == DocType.REPAIR:
        fields.amount_cny = rng.randrange(200, 30_000, 10)
        fields.mileage_km = rng.randrange(1_000, 250_000)
    elif doc_type == DocType.INSURANCE:
        fields.amount_cny = rng.randrange(1_500, 15_000, 10)
    return fields


def _date_text(rng: random.Random, iso: str, chinese: bool) -> str:
    day = date.fromisoformat(iso)
    if chinese:
        return rng.choice((f"{day.year}年{day.month:02d}月{day.day:02d}日", iso))
    return rng.choice((iso, f"{day.day} {_MONTH_NAMES[day.month - 1]} {day.year}", f"{day:%m/%d/%Y}"))


_TITLES: Final = {
    (DocType.REGISTRATION, True): "机动车登记证书",
    (DocType.INVOICE, True): "机动车销售统一发票",
    (DocType.REPAIR, True): "机动车维修结算单",
    (DocType.INSURANCE, True): "机动车交通事故责任强制保险单",
    (DocType.REGISTRATION, False): "VEHICLE REGISTRATION CERTIFICATE",
    (DocType.INVOICE, False): "VEHICLE PURCHASE INVOICE",
    (DocType.REPAIR, False): "VEHICLE REPAIR BILL",
    (DocType.INSURANCE, False): "MOTOR INSURANCE POLICY",
}

_FIELD_LABELS: Final = {
    True: {
        "owner_name": {
            DocType.REGISTRATION: "机动车所有人",
            DocType.INVOICE: "购买方名称",
            DocType.REPAIR: "送修人",
            DocType.INSURANCE: "被保险人",
        },
        "plate": "号牌号码",
        "vin": "车辆识别代号",
        "date": {
            DocType.REGISTRATION: "登记日期",
            DocType.INVOICE: "开票日期",
            DocType.REPAIR: "结算日期",
            DocType.INSURANCE: "生效日期",
        },
        "amount_cny": {DocType.INVOICE: "价税合计", DocType.REPAIR: "合计金额", DocType.INSURANCE: "保险费合计"},
        "mileage_km": "行驶里程",
    },
    False: {
        "owner_name": {
            DocType.REGISTRATION: "Registered owner",
            DocType.INVOICE: "Buyer",
            DocType.REPAIR: "Customer",
            DocType.INSURANCE: "Policyholder",
        },
        "plate": "Plate number",
        "vin": "VIN",
        "date": {
            DocType.REGISTRATION: "Date of registration",
            DocType.INVOICE: "Invoice date",
            DocType.REPAIR: "Repair date",
            DocType.INSURANCE: "Start date",
        },
        "amount_cny": {DocType.INVOICE: "Total amount", DocType.REPAIR: "Total", DocType.INSURANCE: "Premium"},
        "mileage_km": "Odometer",
    },
}

_FILLER: Final = {
    True: (
        ("住所", "上海市浦东新区世纪大道{n}号"),
        ("联系电话", "021-{n}{n}"),
        ("车辆品牌", "大众牌"),
        ("车身颜色", "白"),
        ("经办人", "窗口{n}"),
        ("编号", "No.{n}{n}"),
    ),
    False: (
        ("Address", "{n} Main Street, Springfield"),
        ("Phone", "555-{n}"),
        ("Make", "Honda Accord"),
        ("Color", "Silver"),
        ("Reference", "REF-{n}{n}"),
        ("Issued by", "Office {n}"),
    ),
}


def _value_text(rng: random.Random, name: str, truth: ExtractedFields, chinese: bool) -> str:
    value = getattr(truth, name)
    if name == "date":
        return _date_text(rng, value, chinese)
    if name == "amount_cny":
        return f"¥{value:,}.00" if chinese else f"CNY {value:,}.00"
    if name == "mileage_km":
        return f"{value}公里" if chinese and rng.random() < 0.5 else f"{value:,} km"
    return str(value)


def render(
    truth: ExtractedFields, rng: random.Random, *, max_rotation: float = 1.5, noise: float = 0.02
) -> Image.Image:
    """Draw ``truth`` as a page of its type and language, then scan it badly."""
    assert truth.doc_type is not None
    chinese = truth.language == "zh"
    width, height = 1100, 1000
    page = Image.new("L", (width, height), 255 - rng.randrange(0, 25))
    draw = ImageDraw.Draw(page)
    path = str(cjk_font_path())
    title_font = ImageFont.truetype(path, 44)
    font = ImageFont.truetype(path, rng.randrange(28, 33))
    draw.rectangle((30, 30, width - 30, height - 30), outline=60, width=3)
    draw.text((70, 60), _TITLES[(truth.doc_type, chinese)], fill=10, font=title_font)
    labels = _FIELD_LABELS[chinese]
    rows: list[tuple[str, str]] = []
    for name in ("owner_name", "plate", "vin", "date", "amount_cny", "mileage_km"):
        if getattr(truth, name) is None:
            continue
        label = labels[name]
        label_text = label[truth.doc_type] if isinstance(label, dict) else str(label)
        rows.append((label_text, _value_text(rng, name, truth, chinese)))
    filler = list(_FILLER[chinese])
    rng.shuffle(filler)
    for label_text, template in filler[: rng.randint(2, 4)]:
        rows.insert(rng.randrange(len(rows) + 1), (label_text, template.format(n=rng.randint(10, 999))))
    colon = "：" if chinese else ":"
    y = 150
    for label_text, value in rows:
        draw.text((80, y), label_text + colon, fill=rng.randrange(0, 40), font=font)
        draw.text((420, y), value, fill=rng.randrange(0, 40), font=font)
        y += 70
        draw.line((70, y - 14, width - 70, y - 14), fill=180, width=1)
    pixels = page.load()
    assert pixels is not None
    for _ in range(int(width * height * noise)):
        pixels[rng.randrange(width), rng.randrange(height)] = rng.randrange(0, 256)
    page = page.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.3, 0.8)))
    angle = rng.uniform(-max_rotation, max_rotation)
    return page.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=235)


def generate(seed: int, count: int) -> list[GeneratedDocument]:
    """``count`` documents, cycling through every type in both languages."""
    rng = random.Random(seed)  # noqa: S311 (test documents, not secrets)
    out = []
    kinds = [(t, zh) for t in DocType for zh in (True, False)]
    for index in range(count):
        doc_type, chinese = kinds[index % len(kinds)]
        truth = _fields(rng, doc_type, chinese)
        out.append(GeneratedDocument(truth=truth, image=render(truth, rng)))
    return out
