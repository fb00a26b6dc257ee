set terminal svg size 1200,360 font "sans,11"
set output "results/2026-12-01-ycsb-updates-think300-slots13334/throughput-uniform.svg"
set multiplot layout 1,2 title "YCSB throughput (uniform), operations/s, all processes together"
set logscale y
set format y "%.0s%c"
set key outside right
set xlabel 'processes'
set pointsize 1.3
set xrange [0.5:2.5]
set xtics 1
set grid
set title "YCSB-U"
plot for [i=0:3] "results/2026-12-01-ycsb-updates-think300-slots13334/plot-throughput-U-uniform.dat" index i using 1:2 with linespoints lw 2 pt 7 title columnheader(1)
unset multiplot
reset
set terminal svg size 900,420 font "sans,11"
set output "results/2026-12-01-ycsb-updates-think300-slots13334/floor-ratio-uniform.svg"
set title "Time per operation ÷ the floor's, 1 process (uniform)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set yrange [0:*]
set grid ytics
set ylabel 'x floor'
plot for [c=2:4] "results/2026-12-01-ycsb-updates-think300-slots13334/plot-floor-uniform.dat" using c:xtic(1) title columnheader(c)
