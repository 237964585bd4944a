# docs: build rules (filled in by the part that owns this folder)
dist_noinst_DATA += docs/architecture.md
dist_noinst_DATA += docs/abi.md docs/stats.md docs/testing.md docs/hostile.md
dist_man_MANS += docs/umbra.1
dist_noinst_DATA += docs/results.md docs/results/trace-forkstorm.png \
	docs/results/nested-npt1/results.csv docs/results/nested-npt1/results.json \
	docs/results/nested-npt1/table.md docs/results/nested-npt1/forks.png \
	docs/results/nested-npt0/results.csv docs/results/nested-npt0/results.json \
	docs/results/nested-npt0/table.md docs/results/nested-npt0/forks.png \
	docs/results/nested-npt1-share1g/results.csv docs/results/nested-npt1-share1g/results.json \
	docs/results/nested-npt1-share1g/table.md \
	docs/results/soak-npt1/report-10000.json docs/results/soak-npt1/report-2000.json \
	docs/results/nested-npt0-again/results.csv docs/results/nested-npt0-again/results.json \
	docs/results/nested-npt0-again/table.md \
	docs/results/nested-npt1-1g-nothp/results.csv docs/results/nested-npt1-1g-nothp/results.json \
	docs/results/nested-npt1-1g-nothp/table.md \
	docs/results/nested-npt0-1g-nothp/results.csv docs/results/nested-npt0-1g-nothp/results.json \
	docs/results/nested-npt0-1g-nothp/table.md
