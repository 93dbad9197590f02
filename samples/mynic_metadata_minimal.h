/* A mynic configuration without the optional fields (no checksum offload, no flow
 * marks): programs must guard csum_level and flow_mark with bpf_core_field_exists. */
#pragma once
#include "include/nic_types.h"

struct mynic_metadata {
	__u32 hash;
	__u16 vlan_tci;
	__be16 vlan_proto;
	union {
		struct {
			__be32 saddr;
			__be32 daddr;
		} ipv4;
	} rx;
};
