# bench.sh's plot: throughput (pipeline vs the destination's raw limit) and latency
# percentiles. Call: gnuplot -e "throughput='t.dat'; latency='l.dat'; out='bench.png'; subtitle='...'" plot.gp
#   t.dat: "label" value kind "note"  (kind 1 = pipeline end to end, 2 = destination limit,
#                                      3 = source pgbench, 4 = native logical replication;
#                                      note e.g. "45% of limit" or "")
#   l.dat: "label" p50 p95 p99     (milliseconds)
set terminal pngcairo size 1200,1000 font "sans,10" noenhanced
set output out
set multiplot layout 2,1 title "pgtrail benchmark\n".subtitle font "sans,12"

set style fill solid 0.85 border -1
set linetype 1 lc rgb "#4477aa"
set linetype 2 lc rgb "#228833"
set linetype 3 lc rgb "#ee7733"
set linetype 4 lc rgb "#aa3377"
set grid ytics
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0   # room above the bars for their labels
set xtics scale 0
set key off

set title "Throughput (medians): blue = end to end through pgtrail, purple = PostgreSQL's native logical replication,\ngreen = destination's raw COPY + guarded upsert limit, orange = source pgbench TPS"
set ylabel "changes/s (limit: rows/s)"
set boxwidth 0.6
plot throughput using 0:2:3:xtic(stringcolumn(1)."\n".stringcolumn(4)) with boxes lc variable, \
     '' using 0:2:(sprintf("%.0f", $2)) with labels offset 0,0.8

set title "Latency, source commit to destination commit (medians of p50 / p95 / p99)"
set ylabel "ms"
set key top left
set style data histograms
set style histogram clustered gap 1
set boxwidth 0.9 relative
set xtics rotate by 0 offset 0,0
set xrange [-0.6:3.6]
plot latency using 2:xtic(1) title "p50" lc rgb "#4477aa", \
     '' using 3 title "p95" lc rgb "#ccbb44", \
     '' using 4 title "p99" lc rgb "#ee6677", \
     '' using ($0 - 0.25):2:(sprintf("%.1f", $2)) with labels offset 0,0.7 notitle, \
     '' using ($0):3:(sprintf("%.1f", $3)) with labels offset 0,0.7 notitle, \
     '' using ($0 + 0.25):4:(sprintf("%.1f", $4)) with labels offset 0,0.7 notitle

unset multiplot
