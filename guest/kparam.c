/* Kernel parameters (see kparam.h). */
#include "kparam.h"
#include "console.h"
#include "lib.h"
#include "platform.h"

#define PTDELAY_MAX 1000000u

struct kparams kparams = {.ptshare = true};

struct kparam {
	const char *key; /* with the '=' */
	uint32_t max;
	void (*set)(uint32_t v);
};

static void set_ptshare(uint32_t v)
{
	kparams.ptshare = v;
}

static void set_ptdelay(uint32_t v)
{
	kparams.ptdelay = v;
}

static const struct kparam known[] = {
	{"ptshare=", 1, set_ptshare},
	{"ptdelay=", PTDELAY_MAX, set_ptdelay},
};
#define NKNOWN (sizeof(known) / sizeof(known[0]))

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* The kernel parameter that the word at s starts with, or NULL. */
static const struct kparam *lookup(const char *s)
{
	for (unsigned i = 0; i < NKNOWN; i++) {
		size_t n = strlen(known[i].key);
		if (!memcmp(s, known[i].key, n))
			return &known[i];
	}
	return 0;
}

/* Refuses the word at s like the user program refuses a bad parameter. */
static void __attribute__((noreturn)) refuse(const char *s, const struct kparam *k)
{
	char word[40];
	unsigned n = 0;
	while (s[n] && !blank(s[n]) && n + 1 < sizeof(word)) {
		word[n] = s[n];
		n++;
	}
	word[n] = '\0';
	kprintf("kernel: bad kernel parameter '%s': valid values are 0..%u\n", word, k->max);
	platform_exit(2);
}

const char *kparam_parse(const char *cmdline)
{
	const char *s = cmdline;
	for (;;) {
		while (blank(*s))
			s++;
		const struct kparam *k = lookup(s);
		if (!k)
			return s;
		const char *d = s + strlen(k->key);
		uint64_t v = 0;
		if (*d < '0' || *d > '9')
			refuse(s, k);
		for (; *d >= '0' && *d <= '9'; d++)
			if ((v = v * 10 + (uint64_t)(*d - '0')) > k->max)
				refuse(s, k);
		if (*d && !blank(*d))
			refuse(s, k);
		k->set((uint32_t)v);
		s = d;
	}
}
