"""Bad input over HTTP gets a clear 4xx: oversize bodies, wrong content types, malformed JSON."""

from __future__ import annotations

from collections.abc import Iterator

from tests.portal.conftest import PortalRig


def test_an_oversize_body_is_refused_with_413(portal: PortalRig) -> None:
    with portal.as_member("insurer") as insurer:
        big = {"vin": "LSVJETH80N5183294", "kind": 2, "record": {"description": "x" * (2 << 20)}}
        response = insurer.post("/api/v1/attestations", json=big)
        assert response.status_code == 413, response.text
        assert response.json() == {"error": "too_large", "message": "the request body is larger than 1048576 bytes"}

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
            yield b'{"vin": "LSVJETH80N5183294", "kind": 2, "record": {"description": "'
            for _ in range(40):
                yield b"y" * 65_536
            yield b'"}}'

        streamed = insurer.post("/api/v1/attestations", content=chunks(), headers={"Content-Type": "application/json"})
        assert streamed.status_code == 413
        assert insurer.get("/api/v1/me").status_code == 200  # the portal carries on


def test_wrong_content_types_and_malformed_json_get_422(portal: PortalRig) -> None:
    with portal.as_member("insurer") as insurer:
        as_text = insurer.post(
            "/api/v1/attestations", content=b"vin=LSVJETH80N5183294", headers={"Content-Type": "text/plain"}
        )
        assert as_text.status_code == 422
        broken = insurer.post("/api/v1/attestations", content=b'{"vin": ', headers={"Content-Type": "application/json"})
        assert broken.status_code == 422
        assert "json" in broken.text.lower()
        as_form = insurer.post("/api/v1/documents/verify", data={"digest": "0x" + "00" * 32})
        assert as_form.status_code == 422


def test_a_lone_surrogate_in_bad_input_gets_a_422_not_a_500(portal: PortalRig) -> None:
    with portal.http() as http:
        response = http.post(
            "/api/v1/auth/challenge", content=b'{"address": ["\\ud800"]}', headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_input"
    assert "address" in response.json()["message"]
