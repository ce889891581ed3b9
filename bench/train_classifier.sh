#!/usr/bin/env bash
# Retrains the data classifier (common/data_classifier.h): builds
# cairn_classifier_train, writes common/classifier_model.txt, and prints the
# held-out accuracy, the confusion matrix and the real files it sampled. The
# next build embeds the new model by itself. Extra arguments go to the
# trainer (--json, --seed N, --system_files=false, --train_per_class N, ...).
#
#   bench/train_classifier.sh [trainer flags]
#
# BUILD_DIR picks the build directory (default: build/); BUILD_LOCK, if set,
# is a lock file the build step holds, for machines where builds take turns.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
${BUILD_LOCK:+flock "$BUILD_LOCK"} cmake --build "$build" --target cairn_classifier_train >&2
exec "$build/bench/cairn_classifier_train" --out "$root/common/classifier_model.txt" "$@"
