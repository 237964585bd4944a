# docs: build rules (filled in by the part that owns this folder)
dist_noinst_DATA += docs/architecture.md
dist_noinst_DATA += docs/abi.md docs/stats.md docs/testing.md docs/hostile.md
dist_man_MANS += docs/umbra.1
dist_noinst_DATA += docs/results.md docs/results/trace-forkstorm.png \
	docs/results/nested-npt1/results.csv docs/results/nested-npt1/results.json \
	docs/results/nested-npt1/table.md docs/results/nested-npt1/forks.png \
	docs/results/nested-npt0/results.csv docs/results/nested-npt0/results.json \
	docs/results/nested-npt0/table.md docs/results/nested-npt0/forks.png \
	docs/results/nested-npt1-runs9/results.csv docs/results/nested-npt1-runs9/results.json \
	docs/results/nested-npt1-runs9/table.md \
	docs/results/nested-npt0-runs9/results.csv docs/results/nested-npt0-runs9/results.json \
	docs/results/nested-npt0-runs9/table.md \
	docs/results/nested-npt1-64/results.csv docs/results/nested-npt1-64/results.json \
	docs/results/nested-npt1-64/table.md \
	docs/results/nested-npt0-64/results.csv docs/results/nested-npt0-64/results.json \
	docs/results/nested-npt0-64/table.md
