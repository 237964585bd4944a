# docs: build rules (filled in by the part that owns this folder)
dist_noinst_DATA += docs/architecture.md
dist_noinst_DATA += docs/abi.md docs/stats.md docs/testing.md docs/hostile.md
dist_man_MANS += docs/umbra.1
dist_noinst_DATA += docs/results.md docs/results/results.csv docs/results/results.json \
	docs/results/forks.png docs/results/trace-forkstorm.png
