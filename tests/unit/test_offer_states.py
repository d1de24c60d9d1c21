"""The offer state machine is a table: legal moves give the next state, others a typed error."""

import pytest

from zhida.workflow.states import FINAL, TRANSITIONS, OfferAction, OfferState, TransitionNotAllowed, next_state


def test_every_state_has_a_label_and_is_reachable_or_the_start():
    targets = set(TRANSITIONS.values())
    assert all(s.label for s in OfferState)
    assert set(OfferState) - targets == {OfferState.PENDING_REVIEW}


def test_final_states_allow_nothing_and_every_other_state_allows_something():
    sources = {s for s, _ in TRANSITIONS}
    assert not (FINAL & sources) and set(OfferState) - FINAL == sources


@pytest.mark.parametrize(("state", "action"), [(s, a) for s in OfferState for a in OfferAction
                                               if (s, a) not in TRANSITIONS])
def test_an_illegal_action_names_the_state_and_what_is_allowed(state, action):
    with pytest.raises(TransitionNotAllowed, match=state.label):
        next_state(state, action)


def test_the_happy_path_from_review_to_paid():
    state = OfferState.PENDING_REVIEW
    for action in ("approve", "start_notice", "close_notice", "accept", "schedule", "settle"):
        state = next_state(state, OfferAction(action))
    assert state is OfferState.PAID
