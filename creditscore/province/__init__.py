"""Province scale: "grade everyone as of a date" as a partitioned job.

One partition function (:func:`grade_partition`) turns the records of a set of subjects into point-in-time
indicators, PDs, grades after policy and reasons — the scoring path of the service and the CLI. The local
engine (:mod:`creditscore.province.local`) splits the population by a stable hash of the subject id, grades the
partitions in a process pool and writes each one's output atomically, so a killed run resumes from the
partitions already done and never writes one twice.
"""

from creditscore.province.partition import OUTPUT_COLUMNS, grade_partition, part_of

__all__ = ["OUTPUT_COLUMNS", "grade_partition", "part_of"]
