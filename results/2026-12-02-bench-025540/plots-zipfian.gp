set terminal svg size 1200,720 font "sans,11"
set output "results/2026-12-02-bench-025540/throughput-zipfian.svg"
set multiplot layout 2,2 title "YCSB throughput (zipfian), operations/s, all processes together"
set logscale y
set format y "%.0s%c"
set key outside right
set xlabel 'processes'
set pointsize 1.3
set xrange [0.5:2.5]
set xtics 1
set grid
set title "YCSB-A"
plot for [i=0:8] "results/2026-12-02-bench-025540/plot-throughput-A-zipfian.dat" index i using 1:2 with linespoints lw 2 pt 7 title columnheader(1)
set title "YCSB-B"
plot for [i=0:8] "results/2026-12-02-bench-025540/plot-throughput-B-zipfian.dat" index i using 1:2 with linespoints lw 2 pt 7 title columnheader(1)
set title "YCSB-C"
plot for [i=0:8] "results/2026-12-02-bench-025540/plot-throughput-C-zipfian.dat" index i using 1:2 with linespoints lw 2 pt 7 title columnheader(1)
set title "YCSB-F"
plot for [i=0:8] "results/2026-12-02-bench-025540/plot-throughput-F-zipfian.dat" index i using 1:2 with linespoints lw 2 pt 7 title columnheader(1)
unset multiplot
reset
set terminal svg size 900,420 font "sans,11"
set output "results/2026-12-02-bench-025540/latency-C-zipfian.svg"
set title "YCSB-C (zipfian) latency, 2 processes, sampled 1 op in 8"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel 'ns'
set grid ytics
set xtics rotate by -20
plot for [c=2:4] "results/2026-12-02-bench-025540/plot-latency-C-zipfian.dat" using c:xtic(1) title columnheader(c)
reset
set terminal svg size 900,420 font "sans,11"
set output "results/2026-12-02-bench-025540/latency-A-zipfian.svg"
set title "YCSB-A (zipfian) latency, 2 processes, sampled 1 op in 8"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel 'ns'
set grid ytics
set xtics rotate by -20
plot for [c=2:4] "results/2026-12-02-bench-025540/plot-latency-A-zipfian.dat" using c:xtic(1) title columnheader(c)
reset
set terminal svg size 900,420 font "sans,11"
set output "results/2026-12-02-bench-025540/floor-ratio-zipfian.svg"
set title "Time per operation ÷ the floor's, 1 process (zipfian)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set yrange [0:*]
set grid ytics
set ylabel 'x floor'
plot for [c=2:6] "results/2026-12-02-bench-025540/plot-floor-zipfian.dat" using c:xtic(1) title columnheader(c)
