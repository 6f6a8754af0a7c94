# cell_026.gp - learning curves of cell 26 (batch_size=192, lr=0.0525),
# search "table2-mini-race" (results/table2-mini-race.json).
# Written by `rcn report --plots`; re-draw with `gnuplot cell_026.gp` in this folder.
# Data: cell_026.dat. Draws cell_026.png and cell_026.svg.
reset session
set encoding utf8
do for [fmt in "png svg"] {
  if (fmt eq "png") {
    set terminal pngcairo size 1000,820 noenhanced font "DejaVu Sans,11"
  } else {
    set terminal svg size 1000,820 noenhanced font "DejaVu Sans,11" background rgb "white"
  }
  set output "cell_026.".fmt
  set multiplot layout 2,1 title "table2-mini-race: learning curves of cell 26 (batch_size=192, lr=0.0525)\n10-fold cross-validation: thick lines = mean of 2 folds, thin lines = each fold" font "DejaVu Sans,12"
  set grid lc rgb "#cccccc"
  set lmargin 12
  set rmargin 4
  set xrange [0.94:2.06]
  set offsets 0, 0, graph 0.06, graph 0.06
  set xtics 1
  set mxtics default
  set xlabel "epoch"
  set title "loss per epoch"
  set ylabel "mean cross-entropy loss (per sample)"
  set key inside right top vertical box opaque samplen 3 width 1
  set autoscale yfix
  unset logscale y
  set format y "%g"
  set ytics autofreq
  plot for [i=1:2] "cell_026.dat" index i using 1:2 with lines lw 1 lc rgb "#b3cdf2" title (i == 1 ? "train, each fold" : ""), \
       for [i=1:2] "cell_026.dat" index i using 1:3 with lines lw 1 lc rgb "#f5c4a8" title (i == 1 ? "validation, each fold" : ""), \
       "cell_026.dat" index 0 using 1:2 with linespoints lw 2.5 pt 7 ps 1 lc rgb "#1f5fbf" title "train, mean of 2 folds", \
       "cell_026.dat" index 0 using 1:3 with linespoints lw 2.5 pt 5 ps 1 lc rgb "#d9541a" title "validation, mean of 2 folds"
  set title "accuracy per epoch"
  set ylabel "accuracy (%)"
  unset logscale y
  set ytics autofreq
  set yrange [*:100]
  set offsets 0, 0, 0, graph 0.06
  set key inside right bottom vertical box opaque samplen 3 width 1
  plot "cell_026.dat" index 0 using 1:4 with linespoints lw 2.5 pt 7 ps 1 lc rgb "#1f5fbf" title "train (mean)", \
       "cell_026.dat" index 0 using 1:5 with linespoints lw 2.5 pt 5 ps 1 lc rgb "#d9541a" title "validation (mean)"
  unset multiplot
  set output
}
