# plots.gp - draws every figure of this folder (search "sensitivity-lr", results/sensitivity-lr.json):
# run `gnuplot plots.gp` here; each NAME.gp also runs alone.
print "drawing cell_000"
load "cell_000.gp"
print "drawing cell_001"
load "cell_001.gp"
print "drawing cell_002"
load "cell_002.gp"
print "drawing cell_003"
load "cell_003.gp"
print "drawing sweep_lr"
load "sweep_lr.gp"
print "drawing lr"
load "lr.gp"
