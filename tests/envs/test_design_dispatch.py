"""An answer from the model becomes a candidate: a reply is evaluated, a request that gave no
reply is an ``error`` candidate whose text and reason are what the log and the model see."""

from __future__ import annotations

import pytest

pytest.importorskip("gymnasium", reason="needs the [gym] extra")

from rewardsmith.envs.design.conversation import NoReply, Reply
from rewardsmith.envs.design.dispatch import to_candidate
from rewardsmith.envs.design.evaluate import CandidateResult

CODE = "def compute_reward(obs, action, next_obs):\n    return 0.0\n"


def _never(code: str | None) -> CandidateResult:
    raise AssertionError(f"a non-reply was evaluated: {code!r}")


@pytest.mark.parametrize(
    ("answer", "text", "reason"),
    [
        (
            NoReply("request failed", "ConnectError: refused"),
            "<request failed: ConnectError: refused>",
            "request failed: ConnectError: refused",
        ),
        (NoReply("refused", "I cannot help"), "<refused: I cannot help>", "refused: I cannot help"),
    ],
)
def test_no_reply_is_an_error_candidate_and_never_evaluated(
    answer: NoReply, text: str, reason: str
) -> None:
    candidate = to_candidate(1, 2, answer, _never)
    assert (candidate.id, candidate.response, candidate.code) == ("iter1/cand2", text, None)
    assert (candidate.result.status, candidate.result.reason) == ("error", reason)


def test_a_reply_is_evaluated_even_when_it_looks_like_a_failure() -> None:
    # Typed answers: a model that writes "<refused" itself is still a reply to evaluate.
    seen: list[str | None] = []

    def evaluate(code: str | None) -> CandidateResult:
        seen.append(code)
        return CandidateResult("ok", success_rate=1.0)

    reply = Reply(f"<refused: no>\n```python\n{CODE}```")
    candidate = to_candidate(0, 0, reply, evaluate)
    assert seen == [CODE] and candidate.code == CODE
    assert candidate.response == reply.text and candidate.result.status == "ok"
