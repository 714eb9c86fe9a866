"""No full resident ID in any log line: every record masked as it is made, message, arguments and traceback.

A household's grade has the ID in its URL (the access log), a store error quotes what it was given, a
traceback's text may hold a cell of a file. Masking at the handlers would miss handlers configured later (uvicorn
sets its own); so the record factory itself masks, for every logger and every handler of the process.
"""

from __future__ import annotations

import logging

from creditscore.records.ids import mask_ids_in_text

__all__ = ["mask_ids_in_logs"]

def mask_ids_in_logs() -> None:
    """Mask resident IDs in every log record this process makes from now on (idempotent)."""
    make = logging.getLogRecordFactory()
    if getattr(make, "masks_ids", False):
        return

    def masked(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if isinstance(record.msg, str):
            record.msg = mask_ids_in_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask_ids_in_text(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: mask_ids_in_text(v) if isinstance(v, str) else v for k, v in record.args.items()}
        if record.exc_info and record.exc_info[0] is not None:
            # formatted now and masked: a formatter uses exc_text as it finds it
            record.exc_text = mask_ids_in_text(logging.Formatter().formatException(record.exc_info))
        return record

    masked.masks_ids = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masked)
