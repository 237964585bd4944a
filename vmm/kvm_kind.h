/*
 * What kind of KVM umbra runs on, which decides how a change to the shadow
 * tables reaches the vCPUs (docs/architecture.md, "Three kinds of KVM"):
 *   TDP     the CPU walks our shadow tables itself (Intel EPT, AMD NPT):
 *           a vCPU's TLB keeps old translations until it flushes;
 *   shadow  KVM shadows our shadow tables (kvm_pvm, kvm_amd npt=0,
 *           kvm_intel ept=0) and caches its pages by guest frame, VM-wide,
 *           without seeing our writes.
 */
#ifndef UMBRA_VMM_KVM_KIND_H
#define UMBRA_VMM_KVM_KIND_H

enum kvm_kind {
	KVM_KIND_SHADOW,
	KVM_KIND_TDP,
};

struct kvm_kind_info {
	enum kvm_kind kind;
	char source[64]; /* what told: "kvm_pvm", "kvm_amd npt=1", ... */
};

/* From the loaded modules' parameters in /sys/module. A KVM it cannot
 * tell is taken for a shadow-paging one: what umbra does there is right
 * on every kind (only slower on TDP). */
void kvm_kind__detect(struct kvm_kind_info *out);
const char *kvm_kind__name(enum kvm_kind kind);

#endif
