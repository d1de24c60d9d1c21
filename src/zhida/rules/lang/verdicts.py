"""The words a result is made of: a clause's status for one enterprise and how it is paid.

One list each, so the policy-file schema, the batch engine's stored results and the pages
cannot drift apart. Both are `StrEnum`s: members compare equal to their strings, which is
what YAML, Parquet and the database hold.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    ELIGIBLE = "eligible"        # 可享受: every condition holds and the amount is known
    UNKNOWN = "unknown"          # 待补充数据: a fact the verdict depends on is missing
    INELIGIBLE = "ineligible"    # 不符合: a condition fails (not stored by a match run)
    EXCLUDED = "excluded"        # 不重复享受: eligible, but another clause of its group pays
    NEAR_MISS = "near_miss"      # 差一点: ineligible on exactly one condition (stored when asked)


# What a match run stores per pair: an ineligible pair is the absence of a row, unless it is a
# near miss. What a policy file's case may expect: a verdict for one enterprise (a near miss is
# an ineligible verdict; the batch engine's marking of it is not part of a case).
STORED = (Status.ELIGIBLE, Status.UNKNOWN, Status.EXCLUDED, Status.NEAR_MISS)
EXPECTED = (Status.ELIGIBLE, Status.UNKNOWN, Status.INELIGIBLE, Status.EXCLUDED)


class Mode(StrEnum):
    EXEMPT = "exempt"            # 免申即享: offered without an application
    INSTANT = "instant"          # 即申即办: applied for, decided at once on verified data
    REVIEWED = "reviewed"        # 申报审批: applied for, decided by the department
    REPORT_ONLY = "report_only"  # 政策体检: shown in the report, never paid here
