# sweep_lr.gp - sensitivity to the learning rate: one curve per value,
# search "sensitivity-lr" (results/sensitivity-lr.json).
# Written by `rcn report --plots`; re-draw with `gnuplot sweep_lr.gp` in this folder.
# Data: the cell_NNN.dat files (index 0: mean over folds). Draws sweep_lr.png and sweep_lr.svg.
reset session
set encoding utf8
do for [fmt in "png svg"] {
  if (fmt eq "png") {
    set terminal pngcairo size 1000,820 noenhanced font "DejaVu Sans,11"
  } else {
    set terminal svg size 1000,820 noenhanced font "DejaVu Sans,11" background rgb "white"
  }
  set output "sweep_lr.".fmt
  set palette defined (0 "#440154", 0.25 "#3b528b", 0.5 "#21918c", 0.75 "#5ec962", 1 "#e3cc1a")
  unset colorbox
  set multiplot layout 2,1 title "sensitivity-lr: sensitivity to the learning rate\none training per value, evaluated on the test set" font "DejaVu Sans,12"
  set grid lc rgb "#cccccc"
  set lmargin 12
  set xrange [0.82:10.18]
  set offsets 0, 0, graph 0.06, graph 0.06
  set xtics 1
  set mxtics default
  set xlabel "epoch"
  set title "loss per epoch: solid = test, dashed = train"
  set ylabel "mean cross-entropy loss (per sample)"
  set autoscale yfix
  set logscale y
  set format y "%g"
  set ytics ("0.02" 0.02, "0.05" 0.05, "0.1" 0.1, "0.2" 0.2, "0.5" 0.5, "1" 1)
  set key inside right top vertical box opaque samplen 3 width 1
  plot "cell_000.dat" index 0 using 1:3 with linespoints lw 2 pt 7 ps 0.8 lc rgb "#1f77b4" title "lr = 0.005", \
       "cell_000.dat" index 0 using 1:2 with lines lw 1.5 dt 2 lc rgb "#1f77b4" notitle, \
       "cell_001.dat" index 0 using 1:3 with linespoints lw 2 pt 7 ps 0.8 lc rgb "#ff7f0e" title "lr = 0.01", \
       "cell_001.dat" index 0 using 1:2 with lines lw 1.5 dt 2 lc rgb "#ff7f0e" notitle, \
       "cell_002.dat" index 0 using 1:3 with linespoints lw 2 pt 7 ps 0.8 lc rgb "#2ca02c" title "lr = 0.1", \
       "cell_002.dat" index 0 using 1:2 with lines lw 1.5 dt 2 lc rgb "#2ca02c" notitle, \
       "cell_003.dat" index 0 using 1:3 with linespoints lw 2 pt 7 ps 0.8 lc rgb "#d62728" title "lr = 0.3", \
       "cell_003.dat" index 0 using 1:2 with lines lw 1.5 dt 2 lc rgb "#d62728" notitle
  set key inside right bottom vertical box opaque samplen 3 width 1
  set title "test accuracy per epoch"
  set ylabel "accuracy (%)"
  unset logscale y
  set ytics autofreq
  set yrange [*:100]
  set offsets 0, 0, 0, graph 0.06
  plot "cell_000.dat" index 0 using 1:5 with linespoints lw 2 pt 7 ps 0.8 lc rgb "#1f77b4" title "lr = 0.005", \
       "cell_001.dat" index 0 using 1:5 with linespoints lw 2 pt 7 ps 0.8 lc rgb "#ff7f0e" title "lr = 0.01", \
       "cell_002.dat" index 0 using 1:5 with linespoints lw 2 pt 7 ps 0.8 lc rgb "#2ca02c" title "lr = 0.1", \
       "cell_003.dat" index 0 using 1:5 with linespoints lw 2 pt 7 ps 0.8 lc rgb "#d62728" title "lr = 0.3"
  unset multiplot
  set output
}
