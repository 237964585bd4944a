# docs: build rules (filled in by the part that owns this folder)
dist_noinst_DATA += docs/architecture.md
