"""Records as they arrive: identifiers, the record contracts, parsing, file readers and Chinese messages.

The bottom of the library: everything else builds on these, and they import nothing above them.
"""

from creditscore.records.contracts import KINDS, FieldType, RecordKind, SubjectType, get_kind
from creditscore.records.ids import mask_ids_in_text, mask_resident_id, validate_resident_id, validate_uscc
from creditscore.records.subjects import Segment, Subject, display_id, identify

__all__ = ["KINDS", "FieldType", "RecordKind", "Segment", "Subject", "SubjectType", "display_id", "get_kind",
           "identify", "mask_ids_in_text", "mask_resident_id", "validate_resident_id", "validate_uscc"]
