#!/usr/bin/env bash
# The main job on the embedded sample: build the dataset, train, then predict a
# sentence and a whole article. Run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
stancekit build configs/default.yaml
stancekit train configs/default.yaml
stancekit predict default "The minister denied the claims, calling them \"complete nonsense\"." --format table
stancekit predict default --article data/articles/council-tax-row.txt --format table
