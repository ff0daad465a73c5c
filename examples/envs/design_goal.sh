#!/bin/sh
# LLM reward design on the bundled "goal" gridworld, against any OpenAI-compatible endpoint.
#
#   examples/envs/design_goal.sh http://localhost:8000/v1 Qwen/Qwen2.5-Coder-7B-Instruct
#   OPENAI_API_KEY=sk-... examples/envs/design_goal.sh https://api.openai.com/v1 gpt-4o-mini
#
# Every candidate, its code, status, reason and score lands in the run log
# (./.rewardsmith/runs, see `rewardsmith runs`); the selected reward is written to best_reward.py.
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 ENDPOINT [MODEL]" >&2
    exit 2
fi
exec rewardsmith design goal \
    --task "Reach the goal cell G as quickly as possible without ever entering a lava cell L." \
    --endpoint "$1" \
    --model "${2:-default}" \
    --iterations 3 \
    --candidates 4 \
    --out best_reward.py
