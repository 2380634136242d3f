#!/usr/bin/env bash
# Print the environment that points Slurm's commands (and submitit) at the local cluster:
#     eval "$(scripts/slurm/env.sh)"
set -euo pipefail
source "$(dirname "$0")/common.sh"
printf 'export SLURM_CONF=%q\n' "$SLURM_CONF_FILE"
