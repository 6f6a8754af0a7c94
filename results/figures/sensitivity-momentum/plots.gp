# plots.gp - draws every figure of this folder (search "sensitivity-momentum", results/sensitivity-momentum.json):
# run `gnuplot plots.gp` here; each NAME.gp also runs alone.
print "drawing cell_000"
load "cell_000.gp"
print "drawing cell_001"
load "cell_001.gp"
print "drawing cell_002"
load "cell_002.gp"
print "drawing sweep_momentum"
load "sweep_momentum.gp"
