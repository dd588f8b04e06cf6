/* network.h — bridges, veth pairs, addresses, names and packet rules for a
   project's containers, like a CNI bridge plugin. It knows nothing of YAML
   or projects: compose/ hands it names, subnets and network namespaces. It
   never calls compose/ or runtime/.

   For now: IPAM, the pure part — IPv4 prefixes, choosing a free /24 for a
   network, and handing out its addresses. */
#ifndef STACK_NETWORK_H
#define STACK_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An IPv4 prefix, address in host byte order, bits below len zero. */
typedef struct net_prefix
{
  uint32_t addr;
  uint8_t len; /* 0..32 */
} net_prefix_t;

/* "10.1.2.0/24" (or a bare address: /32). Bits below the length must be
   zero, as Docker requires of a subnet. false if malformed. */
bool net_prefix_parse (const char *s, net_prefix_t *out);
/* "10.1.2.0/24" into buf (at least 19 bytes). */
const char *net_prefix_format (net_prefix_t p, char *buf, size_t size);
/* "10.1.2.3" into buf (at least 16 bytes). */
const char *net_addr_format (uint32_t addr, char *buf, size_t size);
bool net_addr_parse (const char *s, uint32_t *addr);

bool net_prefix_contains (net_prefix_t p, uint32_t addr);
bool net_prefix_overlaps (net_prefix_t a, net_prefix_t b);

/* The first /24 of our private pools (172.18.0.0/16 to 172.31.0.0/16,
   then 10.89.0.0/16: 172.17/16 is left to Docker's own bridge) that
   overlaps none of `taken` — the host's addresses and routes (but not
   its default route, which covers everything), and the other projects'
   networks. false when every one is taken. */
bool net_pick_subnet (const net_prefix_t *taken, size_t n_taken, net_prefix_t *out);

/* The gateway of a subnet: its first host address (Docker's choice). */
uint32_t net_gateway (net_prefix_t subnet);
/* The lowest address of subnet that is neither its network nor its
   broadcast address, nor the gateway, nor in `used`; 0 when full. */
uint32_t net_next_address (net_prefix_t subnet, const uint32_t *used, size_t n_used);

#endif
