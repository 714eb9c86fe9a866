"""Rural credit (信用户 / 信用村 / 信用乡镇): household files graded row by row, the workbook, the printable
report, and village and township assessment."""

from creditscore.rural.batch import BatchResult, grade_household_file
from creditscore.rural.villages import assess_villages

__all__ = ["BatchResult", "assess_villages", "grade_household_file"]
