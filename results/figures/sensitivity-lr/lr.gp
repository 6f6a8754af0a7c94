# lr.gp - mean train and test loss against learning rate (Figure 20),
# search "sensitivity-lr" (results/sensitivity-lr.json).
# Written by `rcn report --plots`; re-draw with `gnuplot lr.gp` in this folder.
# Data: lr.dat. Draws lr.png and lr.svg.
reset session
set encoding utf8
do for [fmt in "png svg"] {
  if (fmt eq "png") {
    set terminal pngcairo size 1000,640 noenhanced font "DejaVu Sans,11"
  } else {
    set terminal svg size 1000,640 noenhanced font "DejaVu Sans,11" background rgb "white"
  }
  set output "lr.".fmt
  set title "sensitivity-lr: mean loss against learning rate\none training per cell, evaluated on the test set" font "DejaVu Sans,12"
  set grid lc rgb "#cccccc"
  set bmargin 7
  set key at screen 0.5, screen 0.015 center bottom horizontal maxrows 1
  set xlabel "learning rate"
  set ylabel "mean cross-entropy loss (per sample)"
  set xtics ("0.005" 0.005, "0.01" 0.01, "0.1" 0.1, "0.3" 0.3)
  set logscale x
  set xrange [0.004:0.375]
  set yrange [0:0.171836908]
  set format y "%g"
  plot "lr.dat" using 1:2 with linespoints lw 2.5 pt 7 ps 1.2 lc rgb "#1f5fbf" title "mean train loss", \
       "lr.dat" using 1:3 with linespoints lw 2.5 pt 5 ps 1.2 lc rgb "#d9541a" title "mean test loss"
  set output
}
