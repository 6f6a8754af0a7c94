# heatmap.gp - heatmap of the mean validation loss over batch size x learning rate,
# search "table2-mini-race" (results/table2-mini-race.json).
# Written by `rcn report --plots`; re-draw with `gnuplot heatmap.gp` in this folder.
# Data: heatmap.dat. Draws heatmap.png and heatmap.svg.
reset session
set encoding utf8
do for [fmt in "png svg"] {
  if (fmt eq "png") {
    set terminal pngcairo size 760,568 noenhanced font "DejaVu Sans,11"
  } else {
    set terminal svg size 760,568 noenhanced font "DejaVu Sans,11" background rgb "white"
  }
  set output "heatmap.".fmt
  set title "table2-mini-race: mean validation loss per cell\nbatch size x learning rate; lower is better; black frame: best cell\npale rN: eliminated at rung N (its mean covers fewer folds/epochs)" font "DejaVu Sans,12"
  set xlabel "learning rate"
  set ylabel "batch size"
  set xrange [-0.5:4.5]
  set yrange [-0.5:7.5]
  set xtics ("0.005" 0, "0.0525" 1, "0.1" 2, "0.1475" 3, "0.195" 4)
  set ytics ("32" 0, "64" 1, "96" 2, "128" 3, "160" 4, "192" 5, "224" 6, "256" 7)
  set tics scale 0
  unset grid
  set palette defined (0 "#440154", 0.25 "#3b528b", 0.5 "#21918c", 0.75 "#5ec962", 1 "#fde725")
  set cblabel "mean validation loss (cross-entropy per sample)"
  unset key
  set style textbox opaque noborder
  set object 1 rect from 2.5, 1.5 to 3.5, 2.5 front fillstyle empty border lc rgb "black" lw 4
  plot "heatmap.dat" using 1:2:(0.5):(0.5):($6 == 3 ? NaN : $5) with boxxyerror fs solid 1.0 noborder lc palette notitle, \
       "heatmap.dat" using 1:($6 == 3 ? $2 : NaN):(0.5):(0.5) with boxxyerror fs solid 1.0 noborder fc rgb "#f2f2f2" title "eliminated cell (rN: at rung N)", \
       "heatmap.dat" using 1:2:($6 == 0 ? sprintf("%.4g", $5) : $6 == 1 ? "diverged" : $6 == 3 ? sprintf("r%d", $8) : "incomplete") with labels boxed font ",9" notitle
  set output
}
