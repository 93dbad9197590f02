/* mynic metadata after a firmware update (v2): the hash is widened to 64 bits,
 * the timestamp moves first, a flow mark is added, the vlan fields move, and
 * csum_level is dropped.  The `___v2` flavor lets one BTF carry both layouts;
 * CO-RE matches it to programs compiled against `struct mynic_metadata`. */
#pragma once
#include "include/nic_types.h"

enum mynic_l3_proto {
	MYNIC_L3_NONE = 0,
	MYNIC_L3_IPV4 = 1,
	MYNIC_L3_IPV6 = 2,
	MYNIC_L3_ARP = 3,
};

struct mynic_rx_descriptor {
	__u64 len;
	__u64 head;
	__u64 tail;
};

struct mynic_metadata___v2 {
	__u64 rx_timestamp;		/* moved */
	__u64 hash;			/* widened from __u32 */
	__u32 flow_mark;		/* added */
	__u16 vlan_tci;			/* moved */
	__be16 vlan_proto;		/* moved */
	__u8 l3_proto;
	__u8 hash_type : 4;
	__u8 csum_ok : 1;		/* csum_level dropped */
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
	struct mynic_rx_descriptor *rx_desc;
};
