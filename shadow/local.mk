# shadow: build rules (filled in by the part that owns this folder)
noinst_HEADERS += shadow/shadow.h
