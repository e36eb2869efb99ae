#!/usr/bin/env bash
# Draws the trainer's log.csv files as PNGs with gnuplot (Debian gnuplot-nox).
#   scripts/plot-training.sh OUT.png TITLE RUN_DIR[:LABEL] ...   loss and grad-norm of each run
# Columns of log.csv: step,lr,loss,grad_norm,u_max,val_loss,tokens_per_s.
set -euo pipefail
command -v gnuplot >/dev/null || { echo "plot-training: install gnuplot-nox" >&2; exit 1; }
out="$1"; title="$2"; shift 2
loss_plots=() grad_plots=() val_plots=()
for spec in "$@"; do
  dir="${spec%%:*}"; label="${spec#*:}"; [[ "$label" == "$spec" ]] && label="$(basename "$dir")"
  csv="$dir/log.csv"
  loss_plots+=("'$csv' using 1:3 with lines title '$label train loss'")
  val_plots+=("'$csv' using 1:(\$6 > 0 ? \$6 : 1/0) with linespoints title '$label validation'")
  grad_plots+=("'$csv' using 1:4 with lines title '$label grad norm'")
done
join() { local IFS=','; echo "$*"; }
gnuplot <<GNUPLOT
set datafile separator ','
set terminal pngcairo size 1000,700 noenhanced
set output '$out'
set multiplot layout 2,1 title '$title'
set key top right
set xlabel 'step'
set ylabel 'loss (nats/token)'
plot $(join "${loss_plots[@]}"), $(join "${val_plots[@]}")
set ylabel 'gradient norm (before clipping)'
set logscale y
plot $(join "${grad_plots[@]}")
unset multiplot
GNUPLOT
echo "wrote $out" >&2
