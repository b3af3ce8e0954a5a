"""The declared grid and the profiles: sizes the paper reports, seeds, and bad names."""

import pytest

from frozensteer import experiments
from frozensteer.compose import DiagGaussian
from frozensteer.profiles import PROFILES, PROTOCOL_SAC_STEPS, get_profile


def test_paper_study_sizes_match_the_abstract():
    assert experiments.study_size("main", "paper") == 3_900
    assert experiments.study_size("harder", "paper") == 5_850
    assert len(experiments.sub_cells("main", "paper")) == 12
    assert len(experiments.sub_cells("harder", "paper")) == 18


def test_thirteen_conditions_with_matching_beta():
    conds = experiments.conditions("paper")
    assert len(conds) == 13
    labels = [c.label for c in conds]
    assert len(set(labels)) == 13
    for c in conds:
        if c.rule == "kl-reg":
            assert c.beta == pytest.approx(c.alpha / (1 - c.alpha))


def test_conditions_apply_their_rule():
    import numpy as np

    actor = DiagGaussian(np.zeros(2), np.ones(2))
    prior = DiagGaussian(np.ones(2), np.ones(2))
    means = {c.label: float(c.apply(actor, prior).mean[0]) for c in experiments.conditions("smoke")}
    assert means["frozen"] == 0.0 and means["prior-only"] == 1.0
    assert means["additive(alpha=0.5)"] == 0.5
    assert means["poe(alpha=0.3)"] == pytest.approx(0.3)  # equal precisions: interpolation
    assert means["kl-reg(beta=0.429)"] == pytest.approx(0.3)


def test_episodes_are_paired_by_seed():
    seeds = experiments.episode_seeds("main", "paper")
    assert seeds == [get_profile("paper").base_seed + i for i in range(25)]
    assert len(experiments.episode_seeds("antmaze", "paper")) == 50


def test_profiles_shrink_from_paper_to_smoke():
    paper, quick, smoke = (PROFILES[n] for n in ("paper", "quick", "smoke"))
    assert paper.iql_steps == 300_000 and quick.iql_steps == 5_000 and smoke.iql_steps == 500
    assert paper.dataset_transitions > quick.dataset_transitions > smoke.dataset_transitions
    assert PROTOCOL_SAC_STEPS == {"hopper": 300_000, "walker2d": 500_000,
                                  "halfcheetah": 500_000, "ant": 500_000, "antmaze": 500_000}
    # the paper profile raises only halfcheetah's (its expert was medium-like at 500k)
    assert paper.sac_steps == {**PROTOCOL_SAC_STEPS, "halfcheetah": 1_000_000}
    assert smoke.eval_horizon == 200 and paper.eval_horizon is None


@pytest.mark.parametrize("call", [lambda: get_profile("fast"),
                                  lambda: experiments.sub_cells("bigger", "paper")])
def test_bad_names_are_explained(call):
    with pytest.raises(ValueError, match="must be one of"):
        call()
