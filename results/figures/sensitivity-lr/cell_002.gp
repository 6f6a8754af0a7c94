# cell_002.gp - learning curves of cell 2 (lr=0.1),
# search "sensitivity-lr" (results/sensitivity-lr.json).
# Written by `rcn report --plots`; re-draw with `gnuplot cell_002.gp` in this folder.
# Data: cell_002.dat. Draws cell_002.png and cell_002.svg.
reset session
set encoding utf8
do for [fmt in "png svg"] {
  if (fmt eq "png") {
    set terminal pngcairo size 1000,820 noenhanced font "DejaVu Sans,11"
  } else {
    set terminal svg size 1000,820 noenhanced font "DejaVu Sans,11" background rgb "white"
  }
  set output "cell_002.".fmt
  set multiplot layout 2,1 title "sensitivity-lr: learning curves of cell 2 (lr=0.1)\none training on the training set, evaluated on the test set" font "DejaVu Sans,12"
  set grid lc rgb "#cccccc"
  set lmargin 12
  set rmargin 4
  set xrange [0.82:10.18]
  set offsets 0, 0, graph 0.06, graph 0.06
  set xtics 1
  set mxtics default
  set xlabel "epoch"
  set title "loss per epoch"
  set ylabel "mean cross-entropy loss (per sample)"
  set key inside right top vertical box opaque samplen 3 width 1
  set autoscale yfix
  set logscale y
  set format y "%g"
  set ytics ("0.05" 0.05, "0.1" 0.1, "0.2" 0.2)
  plot "cell_002.dat" index 0 using 1:2 with linespoints lw 2.5 pt 7 ps 1 lc rgb "#1f5fbf" title "train", \
       "cell_002.dat" index 0 using 1:3 with linespoints lw 2.5 pt 5 ps 1 lc rgb "#d9541a" title "test"
  set title "accuracy per epoch"
  set ylabel "accuracy (%)"
  unset logscale y
  set ytics autofreq
  set yrange [*:100]
  set offsets 0, 0, 0, graph 0.06
  set key inside right bottom vertical box opaque samplen 3 width 1
  plot "cell_002.dat" index 0 using 1:4 with linespoints lw 2.5 pt 7 ps 1 lc rgb "#1f5fbf" title "train", \
       "cell_002.dat" index 0 using 1:5 with linespoints lw 2.5 pt 5 ps 1 lc rgb "#d9541a" title "test"
  unset multiplot
  set output
}
