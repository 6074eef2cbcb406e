"""Fields read from the text of a vehicle's papers: which document it is, and its VIN, plate, owner, date, amount and
mileage, from Chinese or English text as Tesseract gives it.

Extraction goes by the labels these documents print (``车辆识别代号`` / ``VIN``, ``号牌号码`` / ``Plate number``, ...):
the value is what follows the label on its line. Tesseract's Chinese model puts spaces between CJK characters and
reads some punctuation as its full-width form; :func:`normalise` undoes both first. A VIN read with I, O or Q (never
used in VINs: OCR's confusion of 1 and 0) is read with 1 and 0 instead; nothing else is guessed.

The VIN check: 17 characters from A-H, J-N, P, R-Z, 0-9, and the ISO 3779 / 49 CFR 565 check digit at position 9
for every VIN, whatever its region, as the portal's attest flow requires (``node_adapter.encoding.validate_vin``).
North America (49 CFR 565) and China (GB 16735) make the digit mandatory; VINs of European makers without a valid
digit are refused by the portal, as they are everywhere else in it (see ``check_digit_mandatory``).
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, Field

from node_adapter.encoding import validate_vin
from node_adapter.exceptions import EncodingError


class DocType(StrEnum):
    REGISTRATION = "registration_certificate"
    INVOICE = "purchase_invoice"
    REPAIR = "repair_bill"
    INSURANCE = "insurance_policy"


FIELD_NAMES: Final = ("vin", "plate", "owner_name", "date", "amount_cny", "mileage_km")


class ExtractedFields(BaseModel):
    """What a page says, as far as it could be read; ``None`` where a field was not found."""

    doc_type: DocType | None = None
    language: str | None = Field(default=None, description="zh or en")
    vin: str | None = Field(default=None, max_length=17)
    plate: str | None = Field(default=None, max_length=16)
    owner_name: str | None = Field(default=None, max_length=100)
    date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")
    amount_cny: int | None = Field(default=None, ge=0, le=100_000_000, description="whole yuan")
    mileage_km: int | None = Field(default=None, ge=0, le=3_000_000)


# ---------------------------------------------------------------------------------------------------- VIN


def vin_problem(vin: str) -> str | None:
    """What is wrong with ``vin`` (length, alphabet, check digit), or None for a valid VIN."""
    try:
        validate_vin(vin, check_digit=True)
    except EncodingError as exc:
        return str(exc)
    return None


def check_digit_mandatory(vin: str) -> bool:
    """Whether the VIN's region makes the position-9 check digit mandatory: North America (WMI 1-5, 49 CFR 565)
    and China (WMI L, GB 16735). The portal verifies it for every VIN; this says where a wrong one is certainly a
    misreading or a forgery rather than a maker's choice."""
    return bool(vin) and vin[0].upper() in "12345L"


_VIN_FIXES: Final = str.maketrans({"I": "1", "O": "0", "Q": "0"})
_VIN_TOKEN: Final = re.compile(r"(?<![A-Z0-9])[A-Z0-9]{17,18}(?![A-Z0-9])")
_CONFUSED: Final = {"S": "5", "5": "S", "G": "6", "6": "G", "B": "8", "8": "B", "Z": "2", "2": "Z", "D": "0", "0": "D"}
"""Characters OCR takes for one another."""


def read_vin(token: str) -> str:
    """A VIN as read: I/O/Q as 1/0; when its check digit fails, the one reading that passes it by changing a single
    character OCR confuses (S/5, G/6, B/8, Z/2, D/0) or, for 18 characters, dropping one (one OCR read twice, as
    G and 6, first); else the token as read (its check digit then fails and the member corrects it)."""
    token = token.translate(_VIN_FIXES)
    if len(token) == 17 and vin_problem(token) is None:
        return token
    if len(token) == 18:  # one glyph read twice: prefer dropping a character OCR confuses with its neighbour
        dropped = {i: token[:i] + token[i + 1 :] for i in range(18)}
        valid_at = [i for i, v in dropped.items() if vin_problem(v) is None]
        doubled = [i for i in valid_at if _CONFUSED.get(token[i]) in (token[i - 1 : i], token[i + 1 : i + 2])]
        for choice in (valid_at, doubled):
            if len({dropped[i] for i in choice}) == 1:
                return dropped[choice[0]]
        return token[:17]
    variants = {token[:i] + _CONFUSED[c] + token[i + 1 :] for i, c in enumerate(token) if c in _CONFUSED}
    valid = sorted(v for v in variants if vin_problem(v) is None)
    return valid[0] if len(valid) == 1 else token


def _vin_candidates(text: str, *, join: bool) -> list[str]:
    """VINs in ``text`` (with its spaces dropped when ``join``), those with a valid check digit first."""
    upper = text.upper().replace(" ", "") if join else text.upper()
    seen: dict[str, None] = {}
    for token in _VIN_TOKEN.findall(upper):
        if sum(c.isdigit() for c in token) >= 4:
            seen.setdefault(read_vin(token), None)
    return sorted(seen, key=lambda t: vin_problem(t) is not None)


# ---------------------------------------------------------------------------------------------------- text


_FULL_WIDTH: Final = str.maketrans(
    {"：": ":", "（": "(", "）": ")", "，": ",", "。": ".", "－": "-", "—": "-", "／": "/", "¥": "¥", "￥": "¥"}
)
_CJK = r"\u3400-\u9fff"
_CJK_GAP: Final = re.compile(rf"(?<=[{_CJK}])[ \t]+(?=[{_CJK}])")


def normalise(text: str) -> str:
    """Tesseract's text made uniform: full-width punctuation as ASCII, no spaces between CJK characters."""
    lines = []
    for raw in text.translate(_FULL_WIDTH).splitlines():
        line = _CJK_GAP.sub("", raw)
        line = re.sub(rf"(?<=[{_CJK}])[ \t]+(?=[:])|(?<=[:])[ \t]+", " ", line)
        lines.append(line.strip())
    return "\n".join(line for line in lines if line)


_DOC_TITLES: Final = (
    (DocType.REGISTRATION, ("登记证书", "行驶证", "REGISTRATION CERTIFICATE", "CERTIFICATE OF REGISTRATION")),
    (DocType.INVOICE, ("销售统一发票", "发票", "PURCHASE INVOICE", "SALES INVOICE", "INVOICE")),
    (DocType.REPAIR, ("维修结算单", "维修", "REPAIR BILL", "REPAIR INVOICE", "REPAIR")),
    (DocType.INSURANCE, ("保险单", "保险", "INSURANCE POLICY", "POLICY")),
)

_LABELS: Final[dict[str, tuple[str, ...]]] = {
    "vin": ("车辆识别代号", "车架号码", "车架号", "识别代号", "VIN", "VEHICLE IDENTIFICATION NUMBER", "CHASSIS"),
    "plate": ("号牌号码", "车牌号码", "车牌号", "号牌", "PLATE NUMBER", "LICENSE PLATE", "PLATE"),
    "owner_name": (
        "机动车所有人",
        "所有人",
        "购买方名称",
        "购买方",
        "被保险人",
        "送修人",
        "客户名称",
        "REGISTERED OWNER",
        "POLICYHOLDER",
        "CUSTOMER",
        "BUYER",
        "OWNER",
    ),
    "date": (
        "登记日期",
        "开票日期",
        "进厂日期",
        "结算日期",
        "保险期间",
        "生效日期",
        "DATE OF REGISTRATION",
        "REGISTRATION DATE",
        "INVOICE DATE",
        "START DATE",
        "REPAIR DATE",
        "DATE",
    ),
    "amount_cny": (
        "价税合计",
        "合计金额",
        "保险费合计",
        "总保险费",
        "金额合计",
        "TOTAL AMOUNT",
        "TOTAL PREMIUM",
        "PREMIUM",
        "TOTAL",
    ),
    "mileage_km": ("行驶里程", "里程", "ODOMETER", "MILEAGE"),
}

_PROVINCES: Final = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_CN_PLATE: Final = re.compile(rf"([{_PROVINCES}])\s*([A-Z])\s*[·•.\-]?\s*([A-Z0-9]{{5,6}})")
_EN_PLATE: Final = re.compile(r"\b([A-Z0-9]{1,4}[- ]?[A-Z0-9]{2,5})\b")
_MONTHS: Final = {
    m: i
    for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)
}


def _after_label(lines: list[str], labels: tuple[str, ...]) -> list[str]:
    """For each line carrying one of ``labels`` (longest label first), the text after it."""
    out = []
    for line in lines:
        upper = line.upper()
        for label in sorted(labels, key=len, reverse=True):
            at = upper.find(label)
            if at < 0:
                continue
            rest = line[at + len(label) :]
            rest = re.sub(r"^\s*(\([^)]*\))?\s*[:.]?\s*", "", rest)
            out.append(rest.strip())
            break
    return out


def _date(text: str) -> str | None:
    patterns = (
        (r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})", (1, 2, 3)),
        (r"(\d{1,2})/(\d{1,2})/(\d{4})", (3, 1, 2)),
    )
    for pattern, (y, m, d) in patterns:
        found = re.search(pattern, text)
        if found:
            return _iso(int(found.group(y)), int(found.group(m)), int(found.group(d)))
    found = re.search(r"(\d{1,2})\s+([A-Za-z]{3})[a-z]*\.?\s+(\d{4})", text)
    if found and found.group(2).upper() in _MONTHS:
        return _iso(int(found.group(3)), _MONTHS[found.group(2).upper()], int(found.group(1)))
    return None


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _number(text: str) -> int | None:
    found = re.search(r"\d[\d,]*(?:\.\d{1,2})?", text.replace(" ", ""))
    if not found:
        return None
    value = float(found.group(0).replace(",", ""))
    return round(value) if value <= 100_000_000 else None


def _owner(text: str) -> str | None:
    text = text.strip()
    cjk = re.match(rf"[{_CJK}]{{2,4}}", text)
    if cjk:
        return cjk.group(0)
    latin = re.match(r"[A-Za-z][A-Za-z .'-]{1,60}[A-Za-z]", text)
    if latin:
        return re.sub(r"\s+", " ", latin.group(0)).strip()
    return None


def extract(text: str) -> ExtractedFields:
    """The fields in ``text`` (Tesseract's output for one page)."""
    clean = normalise(text)
    lines = clean.splitlines()
    upper = clean.upper()
    fields = ExtractedFields(language="zh" if re.search(rf"[{_CJK}]", clean) else "en")
    head = "\n".join(lines[:4]).upper()
    for scope in (head, upper):
        fields.doc_type = next((t for t, titles in _DOC_TITLES if any(x in scope for x in titles)), None)
        if fields.doc_type is not None:
            break

    for value in _after_label(lines, _LABELS["vin"]):
        candidates = _vin_candidates(value, join=True)
        if candidates:
            fields.vin = candidates[0]
            break
    if fields.vin is None:
        candidates = _vin_candidates(clean, join=False)
        fields.vin = candidates[0] if candidates else None

    for value in _after_label(lines, _LABELS["plate"]):
        cn = _CN_PLATE.search(value.upper())
        if cn:
            fields.plate = "".join(cn.groups())
            break
        en = _EN_PLATE.search(value.upper())
        if en and any(c.isdigit() for c in en.group(1)):
            fields.plate = en.group(1).replace(" ", "-")
            break
    if fields.plate is None:
        cn = _CN_PLATE.search(upper)
        fields.plate = "".join(cn.groups()) if cn else None

    for value in _after_label(lines, _LABELS["owner_name"]):
        fields.owner_name = _owner(value)
        if fields.owner_name:
            break
    for value in _after_label(lines, _LABELS["date"]):
        fields.date = _date(value)
        if fields.date:
            break
    for value in _after_label(lines, _LABELS["amount_cny"]):
        fields.amount_cny = _number(value)
        if fields.amount_cny is not None:
            break
    for value in _after_label(lines, _LABELS["mileage_km"]):
        fields.mileage_km = _number(value)
        if fields.mileage_km is not None:
            break
    return fields
