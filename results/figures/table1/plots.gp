# plots.gp - draws every figure of this folder (search "table1", results/table1.json):
# run `gnuplot plots.gp` here; each NAME.gp also runs alone.
print "drawing cell_000"
load "cell_000.gp"
