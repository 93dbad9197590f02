/* The line format kv_native and kv_runner share: "META_HEX PACKET_HEX". */
#ifndef KV_LINES_H
#define KV_LINES_H
#include <stdio.h>

static size_t unhex(const char *s, unsigned char *out, size_t max)
{
	size_t n = 0;
	for (; s[0] && s[1] && s[0] != '\n' && n < max; s += 2) {
		unsigned int b;
		if (sscanf(s, "%2x", &b) != 1)
			break;
		out[n++] = (unsigned char)b;
	}
	return n;
}

static void hex(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

#endif
