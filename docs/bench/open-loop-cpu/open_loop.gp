# Written by bench/open_loop_sweep.py; run in this folder: gnuplot open_loop.gp
set terminal pngcairo size 900,600 noenhanced
set output 'open_loop.png'
set title 'Open loop, 20 stops, loose windows: latency vs throughput'
set xlabel 'answered OK per second'
set ylabel 'latency, ms'
set logscale y
set grid
set key top left
set arrow from graph 0, first 50 to graph 1, first 50 nohead dt 3 lc rgb 'red'
set label 'p99 objective 50 ms' at graph 0.98, first 45 right tc rgb 'red'
plot 'open_loop.dat' index 0 using 2:4 with linespoints lw 2 lc 1 title 'batching p99', 'open_loop.dat' index 0 using 2:3 with linespoints dt 2 lc 1 title 'batching p50', 'open_loop.dat' index 1 using 2:4 with linespoints lw 2 lc 2 title 'batch1 p99', 'open_loop.dat' index 1 using 2:3 with linespoints dt 2 lc 2 title 'batch1 p50', 'open_loop.dat' index 2 using 2:4 with linespoints lw 2 lc 3 title 'python p99', 'open_loop.dat' index 2 using 2:3 with linespoints dt 2 lc 3 title 'python p50', 'open_loop.dat' index 3 using 2:4 with linespoints lw 2 lc 4 title 'batch1-4exec p99', 'open_loop.dat' index 3 using 2:3 with linespoints dt 2 lc 4 title 'batch1-4exec p50'
