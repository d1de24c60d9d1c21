"""The 免申即享 offer's life as data: states, actions, and the table of legal transitions.

    whitelist → department review → 公示 (objections) → enterprise confirms → payment

Every change of state goes through `next_state`; an action the table does not list for the
current state raises `TransitionNotAllowed`. The services append an event per transition.
"""

from __future__ import annotations

from enum import StrEnum

from zhida.errors import ZhidaError


class OfferState(StrEnum):
    PENDING_REVIEW = "pending_review"                # 待审核
    APPROVED = "approved"                            # 审核通过，待公示
    EXCLUDED = "excluded"                            # 审核排除
    IN_NOTICE = "in_notice"                          # 公示中
    OBJECTED = "objected"                            # 公示异议处理中
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # 待企业确认
    NEEDS_CORRECTION = "needs_correction"            # 待补正（账户或数据缺失）
    CONFIRMED = "confirmed"                          # 企业已确认，待拨付
    DECLINED = "declined"                            # 企业放弃
    WAIVED = "waived"                                # 逾期未确认，视为放弃
    PAYING = "paying"                                # 已纳入拨付批次
    ADVANCED = "advanced"                            # 预拨款已到账，待清算（预先拨付）
    SETTLED = "settled"                              # 已清算，待拨付余款
    PAID = "paid"                                    # 已到账
    PAYMENT_FAILED = "payment_failed"                # 拨付失败

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS = {
    OfferState.PENDING_REVIEW: "待审核", OfferState.APPROVED: "审核通过，待公示", OfferState.EXCLUDED: "审核排除",
    OfferState.IN_NOTICE: "公示中", OfferState.OBJECTED: "公示异议处理中",
    OfferState.AWAITING_CONFIRMATION: "待企业确认", OfferState.NEEDS_CORRECTION: "待补正",
    OfferState.CONFIRMED: "已确认，待拨付", OfferState.DECLINED: "企业放弃", OfferState.WAIVED: "逾期视为放弃",
    OfferState.PAYING: "拨付中", OfferState.ADVANCED: "预拨已到账，待清算", OfferState.SETTLED: "已清算，待拨付余款",
    OfferState.PAID: "已到账", OfferState.PAYMENT_FAILED: "拨付失败",
}


class OfferAction(StrEnum):
    APPROVE = "approve"                  # reviewer approves the firm in the batch
    EXCLUDE = "exclude"                  # reviewer excludes it, with a reason
    START_NOTICE = "start_notice"        # 公示 begins
    OBJECT = "object"                    # an objection is recorded
    DISMISS_OBJECTION = "dismiss_objection"
    UPHOLD_OBJECTION = "uphold_objection"  # the firm is excluded
    CLOSE_NOTICE = "close_notice"        # the window passed: the firm is notified
    NEED_CORRECTION = "need_correction"  # no receiving account or a missing fact: 待补正
    CORRECT = "correct"                  # supplied: back to confirmation
    ACCEPT = "accept"                    # the firm accepts, with its account and 承诺
    DECLINE = "decline"
    EXPIRE = "expire"                    # deadline passed without confirmation: 视为放弃
    SCHEDULE = "schedule"                # put into a disbursement batch (money committed)
    SETTLE = "settle"                    # the bank paid
    SETTLE_ADVANCE = "settle_advance"    # the bank paid an advance (预先拨付): the balance waits for settlement
    ADJUST = "adjust"                    # settlement (清算) sets a final amount above the advance: a balance is due
    CLOSE = "close"                      # settlement with nothing more to pay (an overpaid advance is owed back)
    FAIL = "fail"                        # the bank refused (reason recorded)
    RETRY = "retry"                      # a failed payment goes again
    RETURN = "return"                    # a failed payment goes back to the firm to correct

    @property
    def label(self) -> str:
        return ACTION_LABELS[self.value]


ACTION_LABELS = {
    "create": "生成兑现事项", "grant": "申报通过，生成兑现事项（待拨付）",
    "approve": "审核通过", "exclude": "审核排除", "start_notice": "开始公示",
    "object": "提出异议", "dismiss_objection": "异议不成立", "uphold_objection": "异议成立，排除",
    "close_notice": "公示结束，通知企业确认", "need_correction": "转待补正", "correct": "企业已补正",
    "accept": "企业确认领取", "decline": "企业放弃", "expire": "逾期视为放弃", "schedule": "纳入拨付批次",
    "settle": "银行已到账", "settle_advance": "预拨款已到账", "adjust": "清算核定，待拨付余款",
    "close": "清算完毕", "fail": "银行拨付失败", "retry": "重新拨付", "return": "退回企业补正",
}


S, A = OfferState, OfferAction
TRANSITIONS: dict[tuple[OfferState, OfferAction], OfferState] = {
    (S.PENDING_REVIEW, A.APPROVE): S.APPROVED,
    (S.PENDING_REVIEW, A.EXCLUDE): S.EXCLUDED,
    (S.APPROVED, A.EXCLUDE): S.EXCLUDED,
    (S.APPROVED, A.START_NOTICE): S.IN_NOTICE,
    (S.IN_NOTICE, A.OBJECT): S.OBJECTED,
    (S.OBJECTED, A.DISMISS_OBJECTION): S.IN_NOTICE,
    (S.OBJECTED, A.UPHOLD_OBJECTION): S.EXCLUDED,
    (S.IN_NOTICE, A.CLOSE_NOTICE): S.AWAITING_CONFIRMATION,
    (S.AWAITING_CONFIRMATION, A.NEED_CORRECTION): S.NEEDS_CORRECTION,
    (S.NEEDS_CORRECTION, A.CORRECT): S.AWAITING_CONFIRMATION,
    (S.AWAITING_CONFIRMATION, A.ACCEPT): S.CONFIRMED,
    (S.AWAITING_CONFIRMATION, A.DECLINE): S.DECLINED,
    (S.NEEDS_CORRECTION, A.DECLINE): S.DECLINED,
    (S.AWAITING_CONFIRMATION, A.EXPIRE): S.WAIVED,
    (S.NEEDS_CORRECTION, A.EXPIRE): S.WAIVED,
    (S.CONFIRMED, A.SCHEDULE): S.PAYING,
    (S.PAYING, A.SETTLE): S.PAID,
    (S.PAYING, A.SETTLE_ADVANCE): S.ADVANCED,
    (S.ADVANCED, A.ADJUST): S.SETTLED,
    (S.ADVANCED, A.CLOSE): S.PAID,
    (S.SETTLED, A.SCHEDULE): S.PAYING,               # the balance
    (S.PAYING, A.FAIL): S.PAYMENT_FAILED,
    (S.PAYMENT_FAILED, A.RETRY): S.PAYING,
    (S.PAYMENT_FAILED, A.RETURN): S.NEEDS_CORRECTION,
}
FINAL = frozenset({S.EXCLUDED, S.DECLINED, S.WAIVED, S.PAID})


class TransitionNotAllowed(ZhidaError):
    """An action the offer's current state does not allow."""


def next_state(state: OfferState, action: OfferAction) -> OfferState:
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        allowed = "、".join(a.value for (s, a) in TRANSITIONS if s == state) or "（无：已是最终状态）"
        raise TransitionNotAllowed(f"事项当前状态为“{state.label}”，不能执行“{action.value}”；"
                                   f"此状态下可执行：{allowed}。") from None


def sources_of(action: OfferAction) -> list[OfferState]:
    """The states from which `action` is legal (for conditional updates)."""
    return [s for (s, a) in TRANSITIONS if a == action]


# --- 即申即办 / 申报审批 applications -------------------------------------------------------


class ApplicationState(StrEnum):
    DRAFT = "draft"            # 填写中：预填的事实，企业补充缺少的
    IN_REVIEW = "in_review"    # 待部门审核（有自报事实，或条款为申报审批）
    APPROVED = "approved"      # 已通过，转入拨付（兑现事项已生成）
    REJECTED = "rejected"      # 未通过（可修改后重新提交）
    WITHDRAWN = "withdrawn"    # 企业撤回

    @property
    def label(self) -> str:
        return APPLICATION_STATE_LABELS[self]


APPLICATION_STATE_LABELS = {
    ApplicationState.DRAFT: "填写中", ApplicationState.IN_REVIEW: "待部门审核",
    ApplicationState.APPROVED: "已通过，转入拨付",
    ApplicationState.REJECTED: "未通过（可修改后重新提交）", ApplicationState.WITHDRAWN: "已撤回",
}


class ApplicationAction(StrEnum):
    SUBMIT_INSTANT = "submit_instant"  # submitted; every condition holds on verified data: decided at once
    SUBMIT = "submit"                  # submitted for the department's review
    APPROVE = "approve"                # the reviewer approves
    REJECT = "reject"                  # the reviewer rejects, with a reason
    WITHDRAW = "withdraw"              # the firm withdraws

    @property
    def label(self) -> str:
        return APPLICATION_ACTION_LABELS[self.value]


APPLICATION_ACTION_LABELS = {
    "start": "开始申报（已预填）", "submit_instant": "提交，数据齐全即时通过", "submit": "提交，转部门审核",
    "approve": "审核通过", "reject": "审核不通过", "withdraw": "企业撤回", "declare": "企业补充自报事实",
    "attach": "附上材料",
}

AS, AA = ApplicationState, ApplicationAction
APPLICATION_TRANSITIONS: dict[tuple[ApplicationState, ApplicationAction], ApplicationState] = {
    (AS.DRAFT, AA.SUBMIT_INSTANT): AS.APPROVED,
    (AS.DRAFT, AA.SUBMIT): AS.IN_REVIEW,
    (AS.REJECTED, AA.SUBMIT_INSTANT): AS.APPROVED,     # resubmitted, the history kept
    (AS.REJECTED, AA.SUBMIT): AS.IN_REVIEW,
    (AS.IN_REVIEW, AA.APPROVE): AS.APPROVED,
    (AS.IN_REVIEW, AA.REJECT): AS.REJECTED,
    (AS.DRAFT, AA.WITHDRAW): AS.WITHDRAWN,
    (AS.IN_REVIEW, AA.WITHDRAW): AS.WITHDRAWN,
    (AS.REJECTED, AA.WITHDRAW): AS.WITHDRAWN,
}
EDITABLE = frozenset({AS.DRAFT, AS.REJECTED})     # the firm may change declared facts and materials


def next_application_state(state: ApplicationState, action: ApplicationAction) -> ApplicationState:
    try:
        return APPLICATION_TRANSITIONS[(state, action)]
    except KeyError:
        allowed = "、".join(a.label for (s, a) in APPLICATION_TRANSITIONS if s == state) or "（无：已是最终状态）"
        raise TransitionNotAllowed(f"申报当前状态为“{state.label}”，不能“{action.label}”；"
                                   f"此状态下可以：{allowed}。") from None
