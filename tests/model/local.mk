# tests/model: the spin model of the sharing protocol (docs/shadow.md, "The
# model"). Not part of `make check`: it needs spin and a C compiler for
# spin's verifier, and CI runs it as its own step, `make check-model`.
EXTRA_DIST += tests/model/shadow.pml tests/model/check-model.sh

check-model:
	top_srcdir='$(abs_top_srcdir)' CC='$(CC)' $(SHELL) $(srcdir)/tests/model/check-model.sh
.PHONY: check-model
