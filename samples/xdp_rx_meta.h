/* A layout modelled on the kernel's xdp_rx_meta RFC (2024): rx hash with its
 * type, vlan proto/tci, plus the rx timestamp the RFC kept elsewhere. */
#pragma once
#include "include/nic_types.h"

enum xdp_rss_hash_type {
	XDP_RSS_L3_IPV4 = 1U << 0,
	XDP_RSS_L3_IPV6 = 1U << 1,
	XDP_RSS_L3_DYNHDR = 1U << 2,
	XDP_RSS_L4 = 1U << 3,
	XDP_RSS_L4_TCP = 1U << 4,
	XDP_RSS_L4_UDP = 1U << 5,
	XDP_RSS_L4_SCTP = 1U << 6,
	XDP_RSS_L4_IPSEC = 1U << 7,
	XDP_RSS_L4_ICMP = 1U << 8,
};

struct xdp_rx_meta {
	struct xdp_rx_meta_hash {
		__u32 val;
		__u32 type;		/* enum xdp_rss_hash_type */
	} hash;
	struct xdp_rx_meta_vlan {
		__be16 proto;
		__u16 tci;
	} vlan;
	__u64 rx_timestamp;
};
