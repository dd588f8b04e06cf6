/* network.h — bridges, veth pairs, addresses, names and packet rules for a
   project's containers, like a CNI bridge plugin. It knows nothing of YAML
   or projects beyond a project's name: compose/ hands it names, subnets,
   network namespaces and port mappings. It never calls compose/ or
   runtime/.

   ipam.c    IPv4 prefixes, a free /24 for a network, its addresses (pure)
   link.c    bridges, veth pairs, addresses, routes (libnl-3 route)
   rules.c   the nftables table `inet stack`: one chain set per project;
             ip_forward (libnftables)
   ports.c   host port reservations (a bound socket per published port)
   lock.c    one host-wide lock for everything above that other projects
             share (subnet choice, the table, ip_forward) */
#ifndef STACK_NETWORK_H
#define STACK_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/util.h"

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
/* addr is in p and is neither its network nor its broadcast address. */
bool net_prefix_host (net_prefix_t p, uint32_t addr);
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

/* ---- the host-wide lock (lock.c) ----

   Held while a project picks subnets and creates bridges, and while it
   changes the shared table or ip_forward, so that two `up`s never pick the
   same subnet. An abstract unix socket (`@stack-network`): nothing on disk,
   released when the holder dies. Waits up to 30 s. Returns an fd to pass
   to net_unlock, or -1 with err. */
int net_lock (stack_error_t **err);
void net_unlock (int fd);

/* ---- links (link.c) ---- */

/* Every IPv4 prefix the host has an address or a route in, except its
   default route(s): what net_pick_subnet must avoid. The caller frees
   *out. */
int net_host_prefixes (net_prefix_t **out, size_t *n, stack_error_t **err);

/* A bridge of ours (name "stk…", at most 15 bytes), with the gateway as
   its address (gateway/subnet.len), up; route_localnet on it so that the
   host's 127.0.0.1 can be forwarded to its containers (rules.c masquerades
   that traffic; rules.c also drops anything sent to 127/8 *from* the
   bridge, the CVE-2020-8558 fix). Fails with EEXIST if a link of that
   name exists. */
typedef struct net_bridge
{
  const char *name;
  net_prefix_t subnet;
  uint32_t gateway;
} net_bridge_t;

int net_bridge_create (const net_bridge_t *b, stack_error_t **err);
/* An existing bridge (an `external` network): its first IPv4 address and
   prefix as gateway and subnet. ENODEV when there is no such link, EINVAL
   when it is not a bridge or has no IPv4 address. */
int net_bridge_lookup (const char *name, net_bridge_t *out, stack_error_t **err);
/* Delete a link by name; 0 when there is none (idempotent). */
int net_link_delete (const char *name, stack_error_t **err);

/* One interface of a container: a veth pair whose host end (host_ifname,
   "stk…") joins `bridge` and whose other end is `ifname` ("eth0", "eth1",
   …) in the container, with addr/subnet.len. gateway != 0: the default
   route goes through it (only one endpoint of a container has one). */
typedef struct net_endpoint
{
  const char *bridge;
  const char *host_ifname;
  const char *ifname;
  net_prefix_t subnet;
  uint32_t addr;
  uint32_t gateway;
} net_endpoint_t;

/* Wire a container whose network namespace is netns_fd (an open
   /proc/PID/ns/net): lo up, then each endpoint created, addressed, up,
   and the default route. The caller's network namespace is unchanged on
   return, whatever happens. On failure the host ends created so far are
   deleted. n may be 0 (network_mode: none: lo only). */
int net_container_setup (int netns_fd, const net_endpoint_t *eps, size_t n, stack_error_t **err);

/* ---- packet rules (rules.c) ---- */

enum net_protocol
{
  NET_TCP,
  NET_UDP,
};

/* A published port: host_ip:host_port → addr:container_port. host_ip 0
   means every address of the host (Docker's default). */
typedef struct net_port
{
  uint32_t host_ip;
  uint16_t host_port;
  uint32_t addr;
  uint16_t container_port;
  enum net_protocol protocol;
  const char *bridge; /* the bridge addr is on */
} net_port_t;

/* A network's bridge as the rules see it. internal: no way out (no
   masquerade, no forwarding to other interfaces). */
typedef struct net_rules_bridge
{
  const char *name;
  net_prefix_t subnet;
  bool internal;
} net_rules_bridge_t;

typedef struct net_rules
{
  const char *project; /* [a-z0-9_-]+: names the chains "<project>-…"
                          ("_<project>-…" when it starts with a digit:
                          nft 1.0.6 parses no such chain name) */
  const net_rules_bridge_t *bridges;
  size_t n_bridges;
  const net_port_t *ports;
  size_t n_ports;
} net_rules_t;

/* The nft script that (re)places the project's chains in table
   `inet stack`, as one transaction; pure, for tests and for
   net_rules_apply. The chains, all base chains of the project's own:
   - <project>-dnat    nat prerouting: published ports, for packets to a
                       local address other than 127/8 (and to host_ip when
                       one is given, except 127/8)
   - <project>-output  nat output: published ports from the host itself,
                       127/8 included
   - <project>-snat    nat postrouting: masquerade what leaves a
                       non-internal subnet, the host's 127/8 forwarded into
                       a bridge, and hairpin traffic
   - <project>-filter  filter forward: into a bridge from elsewhere only
                       established/related or DNATed (a published port);
                       internal networks neither in nor out; between two
                       different bridges nothing
   - <project>-guard   filter prerouting: drop 127/8 arriving from a
                       bridge of ours (CVE-2020-8558)
   The caller frees the result. */
char *net_rules_script (const net_rules_t *r);

/* Apply the script (chains replaced, never duplicated). Turns IPv4
   forwarding on if it is off, and then adds the chain `forward-guard`
   (filter forward: nothing forwarded between two interfaces that are not
   ours), whose presence records that we turned it on. Call with the lock
   held. */
int net_rules_apply (const net_rules_t *r, stack_error_t **err);
/* Delete the project's chains (none: fine). When no project chain is left
   in the table, delete the table, and if `forward-guard` was there turn
   IPv4 forwarding back off. Call with the lock held. Idempotent. */
int net_rules_remove (const char *project, stack_error_t **err);

/* ---- host port reservations (ports.c) ---- */

/* Reserve host_ip:port/protocol by binding a socket to it, so that no
   other process and no other project can take it while the project is up,
   and a conflict is found before anything is created. TCP: SO_REUSEADDR
   (TIME_WAIT does not count) and listening — Linux lets two SO_REUSEADDR
   sockets share a port as long as neither listens, so a merely bound
   reservation would stop neither another project nor the usual server.
   A filter that drops every packet keeps the socket from ever answering
   (UDP: no SO_REUSEADDR, the same filter). Tries
   port_lo..port_hi in order (port_lo == port_hi: just that one; both 0: a
   port the kernel picks). On success *port is the port and the return
   value the socket (O_CLOEXEC). EADDRINUSE: "HOST_IP:PORT/PROTO is already
   in use" naming the process that holds it when /proc tells. */
int net_port_reserve (uint32_t host_ip, uint16_t port_lo, uint16_t port_hi,
                      enum net_protocol protocol, uint16_t *port, stack_error_t **err);

#endif
