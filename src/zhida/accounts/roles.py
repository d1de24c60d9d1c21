"""Roles and what each may do: one table, data, checked by `authz`."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ENTERPRISE = "enterprise"          # 企业用户, bound to one 统一社会信用代码
    POLICY_OFFICER = "policy_officer"  # 政策主管部门
    REVIEWER = "reviewer"              # 审核人员, in one department
    FINANCE = "finance"                # 财政
    DATA_OFFICER = "data_officer"      # 数据局
    LEADER = "leader"                  # 领导 / 审计
    ADMIN = "admin"                    # 管理员

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ENTERPRISE: "企业用户", Role.POLICY_OFFICER: "政策主管部门", Role.REVIEWER: "审核人员",
    Role.FINANCE: "财政", Role.DATA_OFFICER: "数据局", Role.LEADER: "领导/审计", Role.ADMIN: "管理员",
}


class Permission(StrEnum):
    VIEW_OWN_ENTERPRISE = "view_own_enterprise"        # its own report, offers, payments, data uses
    VIEW_ANY_ENTERPRISE = "view_any_enterprise"        # any firm's profile and report (recorded as a data use)
    PUBLISH_POLICY = "publish_policy"                  # write, simulate and publish policy versions
    RUN_MATCHING = "run_matching"                      # full runs and re-matches
    REVIEW_DEPARTMENT_ITEMS = "review_department_items"  # whitelists and applications of its department
    PREPARE_PAYMENTS = "prepare_payments"              # disbursement batches, payment files, bank results
    LOAD_DATA = "load_data"                            # data sources, feeds, quality
    VIEW_DASHBOARDS = "view_dashboards"
    VERIFY_AUDIT = "verify_audit"
    MANAGE_USERS = "manage_users"

    @property
    def label(self) -> str:
        return PERMISSION_LABELS[self]


PERMISSION_LABELS = {
    Permission.VIEW_OWN_ENTERPRISE: "查看本企业信息", Permission.VIEW_ANY_ENTERPRISE: "查看任一企业信息",
    Permission.PUBLISH_POLICY: "发布政策", Permission.RUN_MATCHING: "运行政策匹配",
    Permission.REVIEW_DEPARTMENT_ITEMS: "审核本部门事项", Permission.PREPARE_PAYMENTS: "办理资金拨付",
    Permission.LOAD_DATA: "管理部门数据", Permission.VIEW_DASHBOARDS: "查看统计看板",
    Permission.VERIFY_AUDIT: "核验审计日志", Permission.MANAGE_USERS: "管理用户",
}

P = Permission
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ENTERPRISE: frozenset({P.VIEW_OWN_ENTERPRISE}),
    Role.POLICY_OFFICER: frozenset({P.PUBLISH_POLICY, P.RUN_MATCHING, P.VIEW_DASHBOARDS}),
    Role.REVIEWER: frozenset({P.REVIEW_DEPARTMENT_ITEMS, P.VIEW_ANY_ENTERPRISE}),
    Role.FINANCE: frozenset({P.PREPARE_PAYMENTS, P.VIEW_DASHBOARDS}),
    Role.DATA_OFFICER: frozenset({P.LOAD_DATA, P.VIEW_ANY_ENTERPRISE, P.RUN_MATCHING}),
    Role.LEADER: frozenset({P.VIEW_DASHBOARDS, P.VERIFY_AUDIT}),
    Role.ADMIN: frozenset({P.MANAGE_USERS, P.VIEW_DASHBOARDS}),
}
