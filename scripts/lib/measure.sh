# Timing shared by the bench scripts (sourced, not run). The caller sets $runs and $scratch (a
# directory for the timing files) and defines reset_outputs, which clears what a run
# leaves behind; it runs, followed by `sync`, before every run.

# measure COMMAND: runs COMMAND $runs times; prints "median_seconds max_rss_kib".
measure() {
    local times=() rss=0 t m
    for _ in $(seq "$runs"); do
        reset_outputs && sync
        /usr/bin/time -f "%e %M" -o "$scratch/time.txt" bash -c "$1" >/dev/null 2>"$scratch/err.txt" || {
            echo "failed: $1" >&2; cat "$scratch/err.txt" >&2; exit 1; }
        read -r t m <"$scratch/time.txt"
        times+=("$t"); (( m > rss )) && rss=$m
    done
    printf '%s %s\n' "$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" "$rss"
}
