/* link.c — bridges, veth pairs, addresses and routes through rtnetlink
   (libnl-3 route): what a CNI bridge plugin does for one container. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include "network-internal.h"

/* ---- cleanup for libnl handles ---- */

static void
cleanup_nlsockp (struct nl_sock **p)
{
  if (*p != NULL)
    nl_socket_free (*p);
  *p = NULL;
}

static void
cleanup_linkp (struct rtnl_link **p)
{
  if (*p != NULL)
    rtnl_link_put (*p);
  *p = NULL;
}

static void
cleanup_addrp (struct rtnl_addr **p)
{
  if (*p != NULL)
    rtnl_addr_put (*p);
  *p = NULL;
}

static void
cleanup_routep (struct rtnl_route **p)
{
  if (*p != NULL)
    rtnl_route_put (*p);
  *p = NULL;
}

static void
cleanup_nladdrp (struct nl_addr **p)
{
  if (*p != NULL)
    nl_addr_put (*p);
  *p = NULL;
}

static void
cleanup_cachep (struct nl_cache **p)
{
  if (*p != NULL)
    nl_cache_free (*p);
  *p = NULL;
}

#define cleanup_nlsock __attribute__ ((cleanup (cleanup_nlsockp)))
#define cleanup_link __attribute__ ((cleanup (cleanup_linkp)))
#define cleanup_addr __attribute__ ((cleanup (cleanup_addrp)))
#define cleanup_route __attribute__ ((cleanup (cleanup_routep)))
#define cleanup_nladdr __attribute__ ((cleanup (cleanup_nladdrp)))
#define cleanup_cache __attribute__ ((cleanup (cleanup_cachep)))

/* ---- libnl errors into ours ---- */

static int
nle_errno (int nle)
{
  switch (nle < 0 ? -nle : nle)
    {
    case NLE_EXIST:
      return EEXIST;
    case NLE_OBJ_NOTFOUND:
    case NLE_NODEV:
      return ENODEV;
    case NLE_NOMEM:
      return ENOMEM;
    case NLE_INVAL:
      return EINVAL;
    case NLE_RANGE:
      return ERANGE;
    case NLE_BUSY:
      return EBUSY;
    case NLE_PERM:
    case NLE_NOACCESS:
      return EPERM;
    case NLE_OPNOTSUPP:
      return EOPNOTSUPP;
    case NLE_NOADDR:
      return EADDRNOTAVAIL;
    case NLE_AF_NOSUPPORT:
      return EAFNOSUPPORT;
    default:
      return EIO;
    }
}

/* "WHAT: libnl's text", with the errno that matches libnl's code as status
   so callers can test for EEXIST or ENODEV. */
static int nl_fail (stack_error_t **err, int nle, const char *fmt, ...) PRINTF_LIKE (3, 4);

static int
nl_fail (stack_error_t **err, int nle, const char *fmt, ...)
{
  cleanup_free char *what = NULL;
  va_list ap;

  va_start (ap, fmt);
  what = xvasprintf (fmt, ap);
  va_end (ap);
  return stack_error_set (err, nle_errno (nle), "%s: %s", what, nl_geterror (nle));
}

/* ---- small pieces ---- */

/* A route socket, in the caller's network namespace. */
static struct nl_sock *
nl_open (stack_error_t **err)
{
  cleanup_nlsock struct nl_sock *sk = NULL;
  int ret;

  sk = nl_socket_alloc ();
  if (sk == NULL)
    {
      stack_error_make (err, ENOMEM, "netlink socket");
      return NULL;
    }
  ret = nl_connect (sk, NETLINK_ROUTE);
  if (ret < 0)
    {
      nl_fail (err, ret, "netlink connect");
      return NULL;
    }
  return steal_pointer (&sk);
}

/* A route socket inside netns_fd. A netlink socket belongs for life to the
   namespace it was created in, so the thread only visits the namespace
   for the socket() call and comes straight back. The thread's own
   namespace (/proc/thread-self, not /proc/self: in a threaded process
   the main thread may live elsewhere) is saved first. */
static struct nl_sock *
nl_open_in (int netns_fd, stack_error_t **err)
{
  cleanup_close int self = -1;
  struct nl_sock *sk;
  int ret;

  self = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0)
    {
      stack_error_make (err, errno, "open `/proc/thread-self/ns/net`");
      return NULL;
    }
  ret = setns (netns_fd, CLONE_NEWNET);
  if (ret < 0)
    {
      stack_error_make (err, errno, "enter the container's network namespace");
      return NULL;
    }
  sk = nl_open (err);
  ret = setns (self, CLONE_NEWNET);
  if (ret < 0)
    {
      /* Every later socket, bind and rule of this process would land in
         the container: nothing sane can follow. */
      perror ("stack: return to the host network namespace");
      abort ();
    }
  return sk;
}

static struct nl_addr *
ipv4_addr (uint32_t addr, uint8_t len)
{
  uint32_t be = htonl (addr);
  struct nl_addr *a = nl_addr_build (AF_INET, &be, sizeof be);

  if (a == NULL)
    abort (); /* out of memory, as xmalloc would */
  nl_addr_set_prefixlen (a, len);
  return a;
}

static uint32_t
ipv4_of (struct nl_addr *a)
{
  uint32_t be;

  memcpy (&be, nl_addr_get_binary_addr (a), sizeof be);
  return ntohl (be);
}

static uint32_t
mask_of (unsigned len)
{
  return len == 0 ? 0 : ~(uint32_t)0 << (32 - len);
}

static int
link_index (struct nl_sock *sk, const char *name, stack_error_t **err)
{
  cleanup_link struct rtnl_link *link = NULL;
  int ret;

  ret = rtnl_link_get_kernel (sk, 0, name, &link);
  if (ret < 0)
    return nl_fail (err, ret, "find link `%s`", name);
  return rtnl_link_get_ifindex (link);
}

static int
link_up (struct nl_sock *sk, const char *name, stack_error_t **err)
{
  cleanup_link struct rtnl_link *link = NULL;
  cleanup_link struct rtnl_link *change = NULL;
  int ret;

  ret = rtnl_link_get_kernel (sk, 0, name, &link);
  if (ret < 0)
    return nl_fail (err, ret, "find link `%s`", name);
  change = rtnl_link_alloc ();
  if (change == NULL)
    abort ();
  rtnl_link_set_flags (change, IFF_UP);
  ret = rtnl_link_change (sk, link, change, 0);
  if (ret < 0)
    return nl_fail (err, ret, "set link `%s` up", name);
  return 0;
}

static int
addr_add (struct nl_sock *sk, const char *name, int ifindex, uint32_t addr, uint8_t len,
          stack_error_t **err)
{
  cleanup_addr struct rtnl_addr *a = NULL;
  cleanup_nladdr struct nl_addr *local = NULL;
  cleanup_nladdr struct nl_addr *brd = NULL;
  char buf[16];
  int ret;

  a = rtnl_addr_alloc ();
  if (a == NULL)
    abort ();
  local = ipv4_addr (addr, len);
  rtnl_addr_set_ifindex (a, ifindex);
  rtnl_addr_set_family (a, AF_INET);
  ret = rtnl_addr_set_local (a, local);
  if (ret < 0)
    return nl_fail (err, ret, "address `%s`", name);
  rtnl_addr_set_prefixlen (a, len);
  /* `ip addr add … brd +`, as Docker and CNI do: without it broadcasts to
     the subnet go nowhere */
  if (len < 31)
    {
      brd = ipv4_addr (addr | ~mask_of (len), 32);
      rtnl_addr_set_broadcast (a, brd);
    }
  ret = rtnl_addr_add (sk, a, 0);
  if (ret < 0)
    return nl_fail (err, ret, "add address %s/%u to `%s`", net_addr_format (addr, buf, sizeof buf),
                    (unsigned)len, name);
  return 0;
}

static int
delete_by_name (struct nl_sock *sk, const char *name, stack_error_t **err)
{
  cleanup_link struct rtnl_link *link = NULL;
  int ret;

  link = rtnl_link_alloc ();
  if (link == NULL)
    abort ();
  rtnl_link_set_name (link, name);
  ret = rtnl_link_delete (sk, link);
  if (ret == -NLE_OBJ_NOTFOUND || ret == -NLE_NODEV)
    return 0;
  if (ret < 0)
    return nl_fail (err, ret, "delete link `%s`", name);
  return 0;
}

/* ---- the host's prefixes ---- */

static void
push_prefix (net_prefix_t **v, size_t *n, size_t *cap, uint32_t addr, unsigned len)
{
  if (*n == *cap)
    {
      *cap = *cap ? *cap * 2 : 16;
      *v = xrealloc (*v, *cap * sizeof **v);
    }
  (*v)[*n].addr = addr & mask_of (len);
  (*v)[*n].len = (uint8_t)len;
  (*n)++;
}

int
net_host_prefixes (net_prefix_t **out, size_t *n, stack_error_t **err)
{
  cleanup_nlsock struct nl_sock *sk = NULL;
  cleanup_cache struct nl_cache *addrs = NULL;
  cleanup_cache struct nl_cache *routes = NULL;
  cleanup_free net_prefix_t *v = NULL;
  struct nl_object *o;
  size_t len = 0, cap = 0;
  int ret;

  sk = nl_open (err);
  if (sk == NULL)
    return -1;
  ret = rtnl_addr_alloc_cache (sk, &addrs);
  if (ret < 0)
    return nl_fail (err, ret, "list the host's addresses");
  for (o = nl_cache_get_first (addrs); o != NULL; o = nl_cache_get_next (o))
    {
      struct rtnl_addr *a = (struct rtnl_addr *)o;
      struct nl_addr *local = rtnl_addr_get_local (a);

      if (rtnl_addr_get_family (a) != AF_INET || local == NULL)
        continue;
      push_prefix (&v, &len, &cap, ipv4_of (local), (unsigned)rtnl_addr_get_prefixlen (a));
    }

  /* The main table only. It is what ordinary traffic follows; the local
     table holds the host's own addresses (taken above) and broadcast
     routes, and policy tables (a VPN's, say) route only what their rules
     select, so they do not make a subnet unreachable from containers. */
  ret = rtnl_route_alloc_cache (sk, AF_INET, 0, &routes);
  if (ret < 0)
    return nl_fail (err, ret, "list the host's routes");
  for (o = nl_cache_get_first (routes); o != NULL; o = nl_cache_get_next (o))
    {
      struct rtnl_route *r = (struct rtnl_route *)o;
      struct nl_addr *dst = rtnl_route_get_dst (r);

      if (rtnl_route_get_table (r) != RT_TABLE_MAIN || dst == NULL)
        continue;
      /* the default route covers everything: it must not count */
      if (nl_addr_get_prefixlen (dst) == 0)
        continue;
      push_prefix (&v, &len, &cap, ipv4_of (dst), nl_addr_get_prefixlen (dst));
    }

  *out = steal_pointer (&v);
  *n = len;
  return 0;
}

/* ---- bridges ---- */

int
net_bridge_create (const net_bridge_t *b, stack_error_t **err)
{
  cleanup_nlsock struct nl_sock *sk = NULL;
  cleanup_link struct rtnl_link *link = NULL;
  cleanup_nladdr struct nl_addr *mac = NULL;
  cleanup_free char *sysctl = NULL;
  stack_error_t *ignored = NULL;
  unsigned char hw[6];
  int ret, ifindex;

  if (strlen (b->name) >= IFNAMSIZ)
    return stack_error_make (err, EINVAL, "bridge name `%s` is longer than %d bytes", b->name,
                             IFNAMSIZ - 1);
  sk = nl_open (err);
  if (sk == NULL)
    return -1;

  link = rtnl_link_bridge_alloc ();
  if (link == NULL)
    abort ();
  rtnl_link_set_name (link, b->name);
  /* A fixed, random, locally administered MAC: otherwise the bridge takes
     the lowest MAC of its ports and changes it as containers come and go,
     and every container's ARP entry for the gateway goes stale. */
  if (getrandom (hw, sizeof hw, 0) != (ssize_t)sizeof hw)
    return stack_error_make (err, errno, "create bridge `%s`: random MAC", b->name);
  hw[0] = (unsigned char)((hw[0] & 0xfe) | 0x02);
  mac = nl_addr_build (AF_LLC, hw, sizeof hw);
  if (mac == NULL)
    abort ();
  rtnl_link_set_addr (link, mac);
  /* EXCL: an existing link of that name is an error, never adopted */
  ret = rtnl_link_add (sk, link, NLM_F_CREATE | NLM_F_EXCL);
  if (ret < 0)
    return nl_fail (err, ret, "create bridge `%s`", b->name);

  ifindex = link_index (sk, b->name, err);
  if (ifindex < 0)
    goto fail;
  ret = addr_add (sk, b->name, ifindex, b->gateway, b->subnet.len, err);
  if (ret < 0)
    goto fail;
  ret = link_up (sk, b->name, err);
  if (ret < 0)
    goto fail;
  /* The host's own 127.0.0.1 may be DNATed to a container (a port
     published on 127.0.0.1): the kernel drops packets with a 127/8 source
     leaving by a non-loopback device unless route_localnet is on. The
     other direction, containers reaching the host's loopback services
     through it (CVE-2020-8558), is dropped by rules.c's guard chain. */
  sysctl = xasprintf ("/proc/sys/net/ipv4/conf/%s/route_localnet", b->name);
  ret = net_sysctl_write (sysctl, "1", err);
  if (ret < 0)
    goto fail;
  return 0;

fail:
  delete_by_name (sk, b->name, &ignored);
  stack_error_free (&ignored);
  return stack_error_wrap (err, "create bridge `%s`", b->name);
}

int
net_bridge_lookup (const char *name, net_bridge_t *out, stack_error_t **err)
{
  cleanup_nlsock struct nl_sock *sk = NULL;
  cleanup_link struct rtnl_link *link = NULL;
  cleanup_cache struct nl_cache *addrs = NULL;
  struct nl_object *o;
  const char *type;
  int ret, ifindex;

  sk = nl_open (err);
  if (sk == NULL)
    return -1;
  ret = rtnl_link_get_kernel (sk, 0, name, &link);
  if (ret < 0)
    return nl_fail (err, ret, "network `%s`", name);
  type = rtnl_link_get_type (link);
  if (type == NULL || strcmp (type, "bridge") != 0)
    return stack_error_make (err, EINVAL, "network `%s`: link is a %s, not a bridge", name,
                             type ? type : "device");
  ifindex = rtnl_link_get_ifindex (link);

  ret = rtnl_addr_alloc_cache (sk, &addrs);
  if (ret < 0)
    return nl_fail (err, ret, "network `%s`: list addresses", name);
  for (o = nl_cache_get_first (addrs); o != NULL; o = nl_cache_get_next (o))
    {
      struct rtnl_addr *a = (struct rtnl_addr *)o;
      struct nl_addr *local = rtnl_addr_get_local (a);
      unsigned len;

      if (rtnl_addr_get_ifindex (a) != ifindex || rtnl_addr_get_family (a) != AF_INET
          || local == NULL)
        continue;
      len = (unsigned)rtnl_addr_get_prefixlen (a);
      out->name = name;
      out->gateway = ipv4_of (local);
      out->subnet.addr = out->gateway & mask_of (len);
      out->subnet.len = (uint8_t)len;
      return 0;
    }
  return stack_error_make (err, EINVAL, "network `%s`: bridge has no IPv4 address", name);
}

int
net_link_delete (const char *name, stack_error_t **err)
{
  cleanup_nlsock struct nl_sock *sk = NULL;

  sk = nl_open (err);
  if (sk == NULL)
    return -1;
  return delete_by_name (sk, name, err);
}

/* ---- a container's interfaces ---- */

/* The veth pair in one request, its peer born inside the container's
   namespace under its final name: nothing ever appears in the host's
   namespace as "eth0", and no rename or move can half-fail. The host end
   comes up already enslaved to the bridge. */
static int
veth_create (struct nl_sock *sk, const net_endpoint_t *ep, int netns_fd, stack_error_t **err)
{
  cleanup_link struct rtnl_link *link = NULL;
  cleanup_link struct rtnl_link *peer = NULL;
  int ret, master;

  if (strlen (ep->host_ifname) >= IFNAMSIZ || strlen (ep->ifname) >= IFNAMSIZ)
    return stack_error_make (err, EINVAL, "interface name `%s` or `%s` is longer than %d bytes",
                             ep->host_ifname, ep->ifname, IFNAMSIZ - 1);
  master = link_index (sk, ep->bridge, err);
  if (master < 0)
    return stack_error_wrap (err, "bridge of `%s`", ep->ifname);

  link = rtnl_link_veth_alloc ();
  if (link == NULL)
    abort ();
  peer = rtnl_link_veth_get_peer (link); /* a reference of our own */
  rtnl_link_set_name (link, ep->host_ifname);
  rtnl_link_set_master (link, master);
  rtnl_link_set_flags (link, IFF_UP);
  rtnl_link_set_name (peer, ep->ifname);
  rtnl_link_set_ns_fd (peer, netns_fd);
  ret = rtnl_link_add (sk, link, NLM_F_CREATE | NLM_F_EXCL);
  if (ret < 0)
    return nl_fail (err, ret, "create veth `%s` (peer `%s` in the container) on `%s`",
                    ep->host_ifname, ep->ifname, ep->bridge);
  return 0;
}

static int
default_route (struct nl_sock *nsk, int ifindex, uint32_t gateway, stack_error_t **err)
{
  cleanup_route struct rtnl_route *r = NULL;
  cleanup_nladdr struct nl_addr *dst = NULL;
  cleanup_nladdr struct nl_addr *gw = NULL;
  struct rtnl_nexthop *nh;
  char buf[16];
  int ret;

  r = rtnl_route_alloc ();
  nh = rtnl_route_nh_alloc ();
  if (r == NULL || nh == NULL)
    abort ();
  dst = ipv4_addr (0, 0);
  gw = ipv4_addr (gateway, 32);
  rtnl_route_set_family (r, AF_INET);
  rtnl_route_set_table (r, RT_TABLE_MAIN);
  rtnl_route_set_scope (r, RT_SCOPE_UNIVERSE);
  rtnl_route_set_type (r, RTN_UNICAST);
  rtnl_route_set_dst (r, dst);
  rtnl_route_nh_set_ifindex (nh, ifindex);
  rtnl_route_nh_set_gateway (nh, gw);
  rtnl_route_add_nexthop (r, nh); /* the route owns it now */
  ret = rtnl_route_add (nsk, r, NLM_F_EXCL);
  if (ret < 0)
    return nl_fail (err, ret, "default route via %s", net_addr_format (gateway, buf, sizeof buf));
  return 0;
}

static int
endpoint_configure (struct nl_sock *nsk, const net_endpoint_t *ep, stack_error_t **err)
{
  int ifindex, ret;

  ifindex = link_index (nsk, ep->ifname, err);
  if (ifindex < 0)
    return -1;
  ret = addr_add (nsk, ep->ifname, ifindex, ep->addr, ep->subnet.len, err);
  if (ret < 0)
    return -1;
  ret = link_up (nsk, ep->ifname, err);
  if (ret < 0)
    return -1;
  if (ep->gateway != 0)
    return default_route (nsk, ifindex, ep->gateway, err);
  return 0;
}

int
net_container_setup (int netns_fd, const net_endpoint_t *eps, size_t n, stack_error_t **err)
{
  cleanup_nlsock struct nl_sock *sk = NULL;
  cleanup_nlsock struct nl_sock *nsk = NULL;
  stack_error_t *ignored = NULL;
  size_t i, created = 0;
  int ret;

  sk = nl_open (err);
  if (sk == NULL)
    return -1;
  nsk = nl_open_in (netns_fd, err);
  if (nsk == NULL)
    return -1;
  ret = link_up (nsk, "lo", err);
  if (ret < 0)
    return stack_error_wrap (err, "container network");

  for (i = 0; i < n; i++)
    {
      ret = veth_create (sk, &eps[i], netns_fd, err);
      if (ret < 0)
        goto fail;
      created++;
      ret = endpoint_configure (nsk, &eps[i], err);
      if (ret < 0)
        goto fail;
    }
  return 0;

fail:
  /* deleting the host end takes its peer in the container with it */
  while (created-- > 0)
    {
      delete_by_name (sk, eps[created].host_ifname, &ignored);
      stack_error_free (&ignored);
    }
  return stack_error_wrap (err, "container network");
}
