#!/usr/bin/env bash
# Weighted Entropy variants on the cpu grid (both biases, 2 inits x 3 seeds each): the weight
# form (1 - Dice vs a temperature softmax of -Dice) and the group-performance estimator (labeled
# training images vs images held out when labeled). Each variant is its own sweep; the report
# keeps variants apart by their label (name.estimator.composition) and weight form sweep name:
#   bash sweeps/investigate_weighted_entropy.sh
#   python -m fair_seg_al.analysis.report logs/al/multiruns/sweep_cpu logs/al/multiruns/we_*
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
common=(-m experiment=sweep_cpu strategy=weighted_entropy bias=strong,weak init=balanced,imbalanced seed=0,1,2)
"$PY" -m fair_seg_al.main "${common[@]}" strategy.name=we_softmax strategy.weight_form=softmax sweep_name=we_softmax
"$PY" -m fair_seg_al.main "${common[@]}" strategy/estimator=holdout sweep_name=we_holdout
"$PY" -m fair_seg_al.main "${common[@]}" strategy.name=we_softmax strategy.weight_form=softmax \
    strategy/estimator=holdout sweep_name=we_softmax_holdout
