"""Document intake: a photo or scan of a vehicle's papers read by OCR (``ocr.py``), its fields extracted
(``fields.py``) and compared with the DMV's records (``crosscheck.py``), reviewed and attested (``service.py``); its
routes are ``http/api/intake.py`` and ``http/pages/intake.py``, its OCR benchmark ``tools/ocr_bench.py``."""
