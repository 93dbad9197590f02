/* Makes clang-19 emit BTF for every sample layout (clang emits only used types).
 * Rebuild: clang-19 -g -O2 -target bpf -I. -c btf_objects.c -o btf_objects.bpf.o */
#include "mynic_metadata.h"
#include "xdp_rx_meta.h"

struct mynic_metadata sample_mynic;
struct xdp_rx_meta sample_rx_meta;
enum mynic_l3_proto sample_l3;
enum mynic_hash_type sample_hash_type;
enum xdp_rss_hash_type sample_rss;
