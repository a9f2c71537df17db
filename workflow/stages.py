"""The catalogue of evaluation steps a cycle definition gates, and of engine effects.

A cycle definition's ``gates:`` names, for each evaluation step below, the states of
the cycle in which the step is allowed (``gates: {enter_scores: [verification,
scoring]}``); the engine refuses the step in any other state, naming the states it
needs. A transition's ``effects:`` names engine actions that run inside the
transition's own transaction (``effects: [publish_results]``). Both lists are closed:
the validator rejects any other name, so a YAML author can never reach arbitrary code.
"""

from __future__ import annotations

from .spec import Label

#: evaluation steps that a cycle's stage gates allow or refuse
GATES: dict[str, Label] = {
    "enter_scores": Label("录入得分", "Enter scores"),
    "compute_results": Label("计算结果", "Compute results"),
    "file_appeal": Label("提出申诉", "File an appeal"),
    "correct_results": Label("更正结果", "Correct a published result"),
}

#: engine effects a transition may declare (run in its transaction)
EFFECTS: dict[str, Label] = {
    "publish_results": Label("公布考评结果", "Publish the results"),
    "bind_indicator_system": Label("确定年度指标体系", "Bind the indicator system to its year"),
}
