# docs: build rules (filled in by the part that owns this folder)
dist_noinst_DATA += docs/architecture.md
dist_noinst_DATA += docs/abi.md docs/stats.md
dist_man_MANS += docs/umbra.1
