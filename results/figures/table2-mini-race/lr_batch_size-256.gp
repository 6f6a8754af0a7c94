# lr_batch_size-256.gp - mean train and validation loss against learning rate for batch_size=256 (Figure 20),
# search "table2-mini-race" (results/table2-mini-race.json).
# Written by `rcn report --plots`; re-draw with `gnuplot lr_batch_size-256.gp` in this folder.
# Data: lr_batch_size-256.dat. Draws lr_batch_size-256.png and lr_batch_size-256.svg.
reset session
set encoding utf8
do for [fmt in "png svg"] {
  if (fmt eq "png") {
    set terminal pngcairo size 1000,640 noenhanced font "DejaVu Sans,11"
  } else {
    set terminal svg size 1000,640 noenhanced font "DejaVu Sans,11" background rgb "white"
  }
  set output "lr_batch_size-256.".fmt
  set title "table2-mini-race: mean loss against learning rate, batch_size=256\nmean over the folds of each cell (k-fold cross-validation)" font "DejaVu Sans,12"
  set grid lc rgb "#cccccc"
  set bmargin 7
  set key at screen 0.5, screen 0.015 center bottom horizontal maxrows 1
  set xlabel "learning rate"
  set ylabel "mean cross-entropy loss (per sample)"
  set xtics ("0.005" 0.005, "0.0525" 0.0525, "0.1" 0.1, "0.1475" 0.1475, "0.195" 0.195)
  set xrange [-0.0026:0.2026]
  set yrange [0:3.3331988]
  set format y "%g"
  plot "lr_batch_size-256.dat" using 1:2 with linespoints lw 2.5 pt 7 ps 1.2 lc rgb "#1f5fbf" title "mean train loss", \
       "lr_batch_size-256.dat" using 1:3 with linespoints lw 2.5 pt 5 ps 1.2 lc rgb "#d9541a" title "mean validation loss"
  set output
}
