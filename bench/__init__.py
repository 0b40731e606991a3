"""labwiz's benchmarks: ``python -m bench`` runs every ``bench_*.py`` and writes RESULTS.md."""
