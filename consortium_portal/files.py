"""Files a member uploads (a scan, a photo, a PDF) to attest with their metadata: kept off chain, their keccak digest
goes into the record (kind ``vehicle_document``), so the record proves the file.

A file is refused with 415 when its content type is not one the portal keeps or when its bytes are not what the type
says (a PDF starts with ``%PDF-``, a PNG with its signature, a JPEG with ``FF D8 FF``), with 413 beyond
``PORTAL_MAX_FILE_BYTES``. Uploading the same file again answers the same digest.
"""

from __future__ import annotations

from eth_utils.crypto import keccak
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from consortium_portal.auth import Principal
from consortium_portal.errors import InvalidInputError, NotFoundError, PortalError
from consortium_portal.models import PortalDocument, PortalFile
from consortium_portal.policy import Target
from consortium_portal.receipts import Reader, check_read

SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}
"""The content types the portal keeps, and how their bytes begin."""


class UnsupportedFileError(PortalError):
    status = 415
    code = "unsupported_file"


class FilePublic(BaseModel):
    digest: str
    name: str
    content_type: str
    size: int


def upload(*, engine: Engine, principal: Principal, name: str, content_type: str, content: bytes) -> FilePublic:
    principal.require_write()
    kind = content_type.split(";", maxsplit=1)[0].strip().lower()
    if kind not in SIGNATURES:
        raise UnsupportedFileError(f"files of type {kind or 'none'} are not kept; send {', '.join(SIGNATURES)}")
    if not content.startswith(SIGNATURES[kind]):
        raise UnsupportedFileError(f"the file's bytes are not a {kind} file")
    if not name.strip() or len(name) > 200:
        raise InvalidInputError("name the file (X-File-Name, 1 to 200 characters)")
    digest = "0x" + keccak(content).hex()
    with Session(engine) as session:
        row = session.get(PortalFile, digest)
        if row is None:
            row = PortalFile(
                digest=digest,
                member_id=principal.member_id,
                name=name.strip(),
                content_type=kind,
                size=len(content),
                content=content,
            )
            session.add(row)
            session.commit()
        elif row.member_id != principal.member_id:
            raise InvalidInputError("another member already keeps this very file: attest it by its digest")
        return FilePublic(digest=row.digest, name=row.name, content_type=row.content_type, size=row.size)


def require_own_file(engine: Engine, principal: Principal, digest: str) -> None:
    """A record may name only a file its member uploaded."""
    with Session(engine) as session:
        row = session.get(PortalFile, digest.lower())
    if row is None or row.member_id != principal.member_id:
        raise InvalidInputError("file_digest names no file this member uploaded (POST /api/v1/files first)")


def download(*, engine: Engine, reader: Reader, digest: str) -> PortalFile:
    """The file, for those the data-sharing policy lets read it (by default its member, and a bank lending on or
    the agency assigned to a vehicle whose record names it); every read leaves an access receipt."""
    with Session(engine) as session:
        row = session.get(PortalFile, digest.lower())
        if row is None:
            raise NotFoundError("the portal keeps no file with this digest")
        subjects = tuple(
            sorted(
                {
                    d.subject
                    for d in session.exec(
                        select(PortalDocument).where(col(PortalDocument.document).contains(row.digest))
                    )
                }
            )
        )
    check_read(engine, reader, Target("file", row.digest, row.member_id, subjects))
    return row
