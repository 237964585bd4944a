/*
 * Telling the kind of KVM from /sys/module.
 */
#include <config.h>

#include "kvm_kind.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The first character of a module parameter, or 0 if it is not there. */
static char module_param(const char *module, const char *param)
{
	char path[128], c = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", module, param);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fread(&c, 1, 1, f) != 1)
		c = 0;
	fclose(f);
	return c;
}

static bool enabled(char c)
{
	return c == 'Y' || c == 'y' || c == '1';
}

void kvm_kind__detect(struct kvm_kind_info *out)
{
	char c;

	out->kind = KVM_KIND_SHADOW;
	if (access("/sys/module/kvm_pvm", F_OK) == 0) {
		snprintf(out->source, sizeof(out->source), "kvm_pvm");
		return;
	}
	c = module_param("kvm_intel", "ept");
	if (c) {
		out->kind = enabled(c) ? KVM_KIND_TDP : KVM_KIND_SHADOW;
		snprintf(out->source, sizeof(out->source), "kvm_intel ept=%d", enabled(c));
		return;
	}
	c = module_param("kvm_amd", "npt");
	if (c) {
		out->kind = enabled(c) ? KVM_KIND_TDP : KVM_KIND_SHADOW;
		snprintf(out->source, sizeof(out->source), "kvm_amd npt=%d", enabled(c));
		return;
	}
	snprintf(out->source, sizeof(out->source), "unknown");
}

const char *kvm_kind__name(enum kvm_kind kind)
{
	return kind == KVM_KIND_TDP ? "tdp" : "shadow";
}
