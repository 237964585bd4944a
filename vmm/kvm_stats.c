/*
 * KVM's binary statistics interface (Documentation/virt/kvm/api.rst,
 * KVM_GET_STATS_FD): a header, an id string, descriptors of
 * sizeof(struct kvm_stats_desc) + name_size bytes each, and a data block
 * of u64 values. Everything is located by the offsets in the header.
 */
#include <config.h>

#include "kvm_stats.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A limit on what a sane header asks us to allocate. */
#define KVM_STATS_MAX_DESCS 4096u
#define KVM_STATS_MAX_NAME 1024u

static int read_exact(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EPROTO;
		done += (size_t)r;
	}
	return 0;
}

static enum counter_kind kind_of(uint32_t flags)
{
	switch (flags & KVM_STATS_TYPE_MASK) {
	case KVM_STATS_TYPE_INSTANT:
		return COUNTER_INSTANT;
	case KVM_STATS_TYPE_PEAK:
		return COUNTER_PEAK;
	default:
		return COUNTER_CUMULATIVE;
	}
}

static bool is_scalar(const struct kvm_stats_desc *d)
{
	uint32_t type = d->flags & KVM_STATS_TYPE_MASK;

	return d->size == 1 && (type == KVM_STATS_TYPE_CUMULATIVE ||
				type == KVM_STATS_TYPE_INSTANT || type == KVM_STATS_TYPE_PEAK);
}

static int parse_descs(struct kvm_stats *s, const struct kvm_stats_header *h, uint8_t *descs,
		       size_t desc_len)
{
	uint64_t end = 0;

	s->names = calloc(h->num_desc, sizeof(*s->names));
	s->kinds = calloc(h->num_desc, sizeof(*s->kinds));
	s->offsets = calloc(h->num_desc, sizeof(*s->offsets));
	if (!s->names || !s->kinds || !s->offsets)
		return -ENOMEM;
	for (uint32_t i = 0; i < h->num_desc; i++) {
		struct kvm_stats_desc *d = (struct kvm_stats_desc *)(descs + i * desc_len);
		size_t name_len = strnlen(d->name, h->name_size);
		uint64_t last = (uint64_t)d->offset + sizeof(uint64_t);
		unsigned n = s->group.n;

		if (!is_scalar(d))
			continue;
		/* A name must be NUL-terminated within name_size. Whether the
		 * value lies inside the file is checked by the first read. */
		if (name_len == 0 || name_len == h->name_size || d->offset % sizeof(uint64_t))
			return -EPROTO;
		s->names[n] = strndup(d->name, name_len);
		if (!s->names[n])
			return -ENOMEM;
		s->kinds[n] = kind_of(d->flags);
		s->offsets[n] = d->offset;
		s->group.n = n + 1;
		if (last > end)
			end = last;
	}
	s->group.names = (const char *const *)s->names;
	s->group.kinds = s->kinds;
	s->data_size = (size_t)end;
	s->buf = malloc(s->data_size ? s->data_size : 1);
	return s->buf ? 0 : -ENOMEM;
}

int kvm_stats__open(struct kvm_stats *s, int fd)
{
	struct kvm_stats_header h;
	size_t desc_len;
	uint8_t *descs;
	int err;

	*s = (struct kvm_stats){.fd = fd};
	err = read_exact(fd, &h, sizeof(h), 0);
	if (err < 0)
		goto fail;
	err = -EPROTO;
	if (h.num_desc > KVM_STATS_MAX_DESCS || h.name_size == 0 ||
	    h.name_size > KVM_STATS_MAX_NAME)
		goto fail;
	desc_len = sizeof(struct kvm_stats_desc) + h.name_size;
	descs = malloc(desc_len * h.num_desc + 1);
	if (!descs) {
		err = -ENOMEM;
		goto fail;
	}
	err = read_exact(fd, descs, desc_len * h.num_desc, h.desc_offset);
	if (err == 0) {
		s->data_offset = h.data_offset;
		err = parse_descs(s, &h, descs, desc_len);
	}
	free(descs);
	if (err == 0)
		err = kvm_stats__read(s, NULL);
	if (err == 0)
		return 0;
fail:
	kvm_stats__close(s);
	return err;
}

int kvm_stats__read(struct kvm_stats *s, uint64_t *values)
{
	int err;

	if (s->data_size == 0)
		return 0;
	err = read_exact(s->fd, s->buf, s->data_size, s->data_offset);
	if (err < 0 || !values)
		return err;
	for (unsigned i = 0; i < s->group.n; i++)
		memcpy(&values[i], (const uint8_t *)s->buf + s->offsets[i], sizeof(values[i]));
	return 0;
}

void kvm_stats__close(struct kvm_stats *s)
{
	if (s->names) {
		for (unsigned i = 0; i < s->group.n; i++)
			free(s->names[i]);
	}
	free(s->names);
	free(s->kinds);
	free(s->offsets);
	free(s->buf);
	if (s->fd >= 0)
		close(s->fd);
	*s = (struct kvm_stats){.fd = -1};
}

bool kvm_stats__same_layout(const struct kvm_stats *a, const struct kvm_stats *b)
{
	if (a->group.n != b->group.n)
		return false;
	for (unsigned i = 0; i < a->group.n; i++) {
		if (strcmp(a->names[i], b->names[i]) != 0 || a->kinds[i] != b->kinds[i])
			return false;
	}
	return true;
}
