/* ipam.c — IPv4 prefixes and address management: which /24 a network
   gets, and which address each container. Pure: the caller gathers what is
   taken (the host's routes and addresses, other projects' networks). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "network.h"

static uint32_t
mask_of (uint8_t len)
{
  return len == 0 ? 0 : ~(uint32_t)0 << (32 - len);
}

bool
net_addr_parse (const char *s, uint32_t *addr)
{
  struct in_addr in;

  /* inet_pton takes only the dotted quad: no "010.1", no "10.1" */
  if (inet_pton (AF_INET, s, &in) != 1)
    return false;
  *addr = ntohl (in.s_addr);
  return true;
}

bool
net_prefix_parse (const char *s, net_prefix_t *out)
{
  char buf[INET_ADDRSTRLEN + 4], *slash, *end;
  unsigned long len = 32;
  uint32_t addr;

  if (strlen (s) >= sizeof buf)
    return false;
  strcpy (buf, s);
  if ((slash = strchr (buf, '/')) != NULL)
    {
      *slash = '\0';
      if (slash[1] < '0' || slash[1] > '9')
        return false;
      len = strtoul (slash + 1, &end, 10);
      if (*end || len > 32 || (slash[1] == '0' && slash[2] != '\0'))
        return false;
    }
  if (!net_addr_parse (buf, &addr) || (addr & ~mask_of ((uint8_t)len)) != 0)
    return false;
  out->addr = addr;
  out->len = (uint8_t)len;
  return true;
}

const char *
net_addr_format (uint32_t addr, char *buf, size_t size)
{
  snprintf (buf, size, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
            addr & 0xff);
  return buf;
}

const char *
net_prefix_format (net_prefix_t p, char *buf, size_t size)
{
  char a[16];

  snprintf (buf, size, "%s/%u", net_addr_format (p.addr, a, sizeof a), (unsigned)p.len);
  return buf;
}

bool
net_prefix_contains (net_prefix_t p, uint32_t addr)
{
  return (addr & mask_of (p.len)) == p.addr;
}

bool
net_prefix_overlaps (net_prefix_t a, net_prefix_t b)
{
  /* two prefixes overlap exactly when the shorter one contains the other */
  return a.len <= b.len ? net_prefix_contains (a, b.addr) : net_prefix_contains (b, a.addr);
}

static bool
free_of (net_prefix_t cand, const net_prefix_t *taken, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (net_prefix_overlaps (cand, taken[i]))
      return false;
  return true;
}

bool
net_pick_subnet (const net_prefix_t *taken, size_t n_taken, net_prefix_t *out)
{
  static const struct
  {
    uint32_t first, last; /* /16s, inclusive */
  } pools[] = {
    { 0xac120000, 0xac1f0000 }, /* 172.18.0.0/16 .. 172.31.0.0/16 */
    { 0x0a590000, 0x0a590000 }, /* 10.89.0.0/16 */
  };
  size_t i;
  uint32_t net;

  for (i = 0; i < sizeof pools / sizeof pools[0]; i++)
    for (net = pools[i].first; net <= pools[i].last + 0xff00; net += 0x100)
      {
        net_prefix_t cand = { .addr = net, .len = 24 };
        if (free_of (cand, taken, n_taken))
          {
            *out = cand;
            return true;
          }
      }
  return false;
}

bool
net_prefix_host (net_prefix_t p, uint32_t addr)
{
  return net_prefix_contains (p, addr) && addr != p.addr && addr != (p.addr | ~mask_of (p.len));
}

uint32_t
net_gateway (net_prefix_t subnet)
{
  return subnet.addr + 1;
}

uint32_t
net_next_address (net_prefix_t subnet, const uint32_t *used, size_t n_used)
{
  uint32_t size = subnet.len >= 31 ? 0 : (uint32_t)1 << (32 - subnet.len);
  uint32_t a, gw = net_gateway (subnet);
  size_t i;

  /* network, gateway ... broadcast: hosts from the second address on */
  for (a = subnet.addr + 2; size && a < subnet.addr + size - 1; a++)
    {
      bool taken = a == gw;
      for (i = 0; i < n_used && !taken; i++)
        taken = used[i] == a;
      if (!taken)
        return a;
    }
  return 0;
}
