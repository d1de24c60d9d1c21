"""Every table of the transactional store, declared on the one `zhida.db.metadata.metadata`.

Import from here: importing this package registers all tables, so the metadata is complete
(migrations compare against it).
"""

from zhida.db.tables.applications import application_events, application_materials, applications, materials
from zhida.db.tables.audit import audit_checkpoints, audit_head, audit_log
from zhida.db.tables.datause import data_use
from zhida.db.tables.disbursement import (
    notice_objections,
    notice_offers,
    notices,
    notifications,
    offer_reminders,
    payment_batch_items,
    payment_batches,
)
from zhida.db.tables.enquiries import enquiries, enquiry_events
from zhida.db.tables.jobs import cap_policies, cap_usage, caps, jobs
from zhida.db.tables.matching import (
    match_events,
    match_run_versions,
    match_runs,
    match_update_enterprises,
    match_updates,
)
from zhida.db.tables.money import budgets, ledger_entries, offer_events, offers, payments
from zhida.db.tables.policies import policy_versions
from zhida.db.tables.users import departments, login_attempts, sessions, user_roles, users

__all__ = [
    "application_events",
    "application_materials",
    "applications",
    "audit_checkpoints",
    "audit_head",
    "audit_log",
    "budgets",
    "cap_policies",
    "cap_usage",
    "caps",
    "data_use",
    "departments",
    "enquiries",
    "enquiry_events",
    "jobs",
    "ledger_entries",
    "login_attempts",
    "match_events",
    "match_run_versions",
    "match_runs",
    "match_update_enterprises",
    "match_updates",
    "materials",
    "notice_objections",
    "notice_offers",
    "notices",
    "notifications",
    "offer_events",
    "offer_reminders",
    "offers",
    "payment_batch_items",
    "payment_batches",
    "payments",
    "policy_versions",
    "sessions",
    "user_roles",
    "users",
]
