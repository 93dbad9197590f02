/* Metadata the "mynic" NIC writes in front of each packet (XDP data_meta), v1.
 * The layout from the 2021 XDP-hints thread: a union of per-protocol parts. */
#pragma once
#include "include/nic_types.h"

enum mynic_l3_proto {
	MYNIC_L3_NONE = 0,
	MYNIC_L3_IPV4 = 1,
	MYNIC_L3_IPV6 = 2,
	MYNIC_L3_ARP = 3,
};

enum mynic_hash_type {
	MYNIC_HASH_NONE = 0,
	MYNIC_HASH_L3 = 1,
	MYNIC_HASH_L4 = 2,
};

struct mynic_rx_descriptor {
	__u64 len;
	__u64 head;
	__u64 tail;
};

struct mynic_metadata {
	__u32 hash;
	__u16 vlan_tci;
	__be16 vlan_proto;
	__u64 rx_timestamp;
	__u8 l3_proto;			/* enum mynic_l3_proto */
	__u8 hash_type : 4;		/* enum mynic_hash_type */
	__u8 csum_level : 2;
	__u8 csum_ok : 1;
	union {
		struct {
			__be32 saddr;
			__be32 daddr;
		} ipv4;
		struct {
			struct in6_addr saddr;
			struct in6_addr daddr;
		} ipv6;
		struct {
			__be16 op;
			__u8 sha[6];
			__be32 spa;
		} __attribute__((packed)) arp;
	} rx;
	struct mynic_rx_descriptor *rx_desc;	/* pointer field */
};
