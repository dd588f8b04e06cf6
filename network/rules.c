/* rules.c — the nftables table `inet stack`: one set of base chains per
   project (published ports, masquerade, isolation, the CVE-2020-8558
   guard) and, when we had to turn IPv4 forwarding on, the chain
   `forward-guard` that records it. Text commands through libnftables, so
   a script reads as what `nft list table inet stack` shows. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <nftables/libnftables.h>

#include "network-internal.h"

#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"
#define FORWARD_GUARD "forward-guard"

static const char *const chain_suffixes[] = { "dnat", "output", "snat", "filter", "guard" };

/* nft 1.0.6 parses a chain name only as a bare identifier, which must not
   start with a digit, and accepts no quoted chain name; project names may
   start with one ("1app"). Those get a leading "_" — which no project name
   starts with, so no two projects share a chain. */
static const char *
chain_prefix (const char *project)
{
  return project[0] >= '0' && project[0] <= '9' ? "_" : "";
}

static bool
is_loopback (uint32_t addr)
{
  return (addr >> 24) == 127;
}

static const char *
proto_name (enum net_protocol p)
{
  return p == NET_UDP ? "udp" : "tcp";
}

/* `add chain` is a no-op for a chain that exists and `flush chain` empties
   it: applying a script twice replaces the rules instead of doubling them,
   and all of it is one transaction. */
static void
chain_head (strbuf_t *b, const char *project, const char *suffix, const char *spec)
{
  const char *pfx = chain_prefix (project);

  sb_printf (b, "add chain inet stack %s%s-%s { %s; policy accept; }\n", pfx, project, suffix,
             spec);
  sb_printf (b, "flush chain inet stack %s%s-%s\n", pfx, project, suffix);
}

static void rule (strbuf_t *b, const char *project, const char *suffix, const char *fmt, ...)
    PRINTF_LIKE (4, 5);

static void
rule (strbuf_t *b, const char *project, const char *suffix, const char *fmt, ...)
{
  cleanup_free char *text = NULL;
  va_list ap;

  va_start (ap, fmt);
  text = xvasprintf (fmt, ap);
  va_end (ap);
  sb_printf (b, "add rule inet stack %s%s-%s %s\n", chain_prefix (project), project, suffix, text);
}

/* "tcp dport 8080 dnat ip to 172.18.0.2:80" */
static char *
port_dnat (const net_port_t *p)
{
  char addr[16];

  return xasprintf ("%s dport %u dnat ip to %s:%u", proto_name (p->protocol),
                    (unsigned)p->host_port, net_addr_format (p->addr, addr, sizeof addr),
                    (unsigned)p->container_port);
}

static void
dnat_chains (strbuf_t *b, const net_rules_t *r)
{
  char ip[16];
  size_t i;

  chain_head (b, r->project, "dnat", "type nat hook prerouting priority dstnat");
  for (i = 0; i < r->n_ports; i++)
    {
      const net_port_t *p = &r->ports[i];
      cleanup_free char *dnat = port_dnat (p);

      /* Never DNAT 127/8 in prerouting: a neighbour on the LAN can send a
         packet to 127.0.0.1 with our MAC, and the port published "on
         localhost only" would be open to it (moby#45610). Loopback ports
         are served by the output chain alone. */
      if (p->host_ip == 0)
        rule (b, r->project, "dnat", "fib daddr type local ip daddr != 127.0.0.0/8 %s", dnat);
      else if (!is_loopback (p->host_ip))
        rule (b, r->project, "dnat", "ip daddr %s %s", net_addr_format (p->host_ip, ip, sizeof ip),
              dnat);
    }

  /* the host's own connections never pass prerouting */
  chain_head (b, r->project, "output", "type nat hook output priority -100");
  for (i = 0; i < r->n_ports; i++)
    {
      const net_port_t *p = &r->ports[i];
      cleanup_free char *dnat = port_dnat (p);

      if (p->host_ip == 0)
        rule (b, r->project, "output", "fib daddr type local %s", dnat);
      else
        rule (b, r->project, "output", "ip daddr %s %s",
              net_addr_format (p->host_ip, ip, sizeof ip), dnat);
    }
}

static void
snat_chain (strbuf_t *b, const net_rules_t *r)
{
  char subnet[20];
  size_t i;

  chain_head (b, r->project, "snat", "type nat hook postrouting priority srcnat");
  for (i = 0; i < r->n_bridges; i++)
    {
      const net_rules_bridge_t *br = &r->bridges[i];

      net_prefix_format (br->subnet, subnet, sizeof subnet);
      if (!br->internal)
        rule (b, r->project, "snat", "ip saddr %s oifname != \"%s\" masquerade", subnet, br->name);
      /* the host's 127.0.0.1 DNATed to a container (needs route_localnet
         on the bridge): the container could not answer 127.0.0.1 */
      rule (b, r->project, "snat", "oifname \"%s\" ip saddr 127.0.0.0/8 masquerade", br->name);
      /* hairpin: a container reaching a published port of its own bridge
         would get the answer straight from its neighbour, not from the
         address it asked */
      rule (b, r->project, "snat", "oifname \"%s\" ip saddr %s ct status dnat masquerade", br->name,
            subnet);
    }
}

/* Order matters across bridges, not only within one: every "into B"
   verdict comes before any "out of B" accept, or a container of one bridge
   would be let into another by its own bridge's accept. */
static void
filter_chain (strbuf_t *b, const net_rules_t *r)
{
  size_t i;

  chain_head (b, r->project, "filter", "type filter hook forward priority filter");
  for (i = 0; i < r->n_bridges; i++)
    {
      const net_rules_bridge_t *br = &r->bridges[i];

      rule (b, r->project, "filter", "oifname \"%s\" ct state established,related accept",
            br->name);
      rule (b, r->project, "filter", "iifname \"%s\" oifname \"%s\" accept", br->name, br->name);
      /* a published port: the one way in from elsewhere */
      if (!br->internal)
        rule (b, r->project, "filter", "oifname \"%s\" ct status dnat accept", br->name);
      /* Unpublished ports stay closed to other machines and other bridges:
         with forwarding on, a neighbour routing the subnet via this host
         would otherwise reach every container port (Docker's "direct
         routing" exposure). */
      rule (b, r->project, "filter", "oifname \"%s\" drop", br->name);
    }
  for (i = 0; i < r->n_bridges; i++)
    {
      const net_rules_bridge_t *br = &r->bridges[i];

      if (br->internal)
        rule (b, r->project, "filter", "iifname \"%s\" drop", br->name);
      else
        rule (b, r->project, "filter", "iifname \"%s\" accept", br->name);
    }
}

static void
guard_chain (strbuf_t *b, const net_rules_t *r)
{
  size_t i;

  chain_head (b, r->project, "guard", "type filter hook prerouting priority raw");
  /* CVE-2020-8558: with route_localnet on, a container could send to
     127.0.0.1 via its gateway and reach the host's loopback-only
     services. */
  for (i = 0; i < r->n_bridges; i++)
    rule (b, r->project, "guard", "iifname \"%s\" ip daddr 127.0.0.0/8 drop", r->bridges[i].name);
}

char *
net_rules_script (const net_rules_t *r)
{
  strbuf_t b = { 0 };

  sb_puts (&b, "add table inet stack\n");
  dnat_chains (&b, r);
  snat_chain (&b, r);
  filter_chain (&b, r);
  guard_chain (&b, r);
  return sb_steal (&b);
}

/* ---- running nft ---- */

static void
cleanup_nftp (struct nft_ctx **p)
{
  if (*p != NULL)
    nft_ctx_free (*p);
  *p = NULL;
}
#define cleanup_nft __attribute__ ((cleanup (cleanup_nftp)))

static struct nft_ctx *
nft_open (bool json)
{
  struct nft_ctx *nft = nft_ctx_new (NFT_CTX_DEFAULT);

  if (nft == NULL)
    abort (); /* only fails for lack of memory */
  nft_ctx_buffer_output (nft);
  nft_ctx_buffer_error (nft);
  if (json)
    nft_ctx_output_set_flags (nft, NFT_CTX_OUTPUT_JSON);
  return nft;
}

/* nft's message is several lines (error, the command, a caret line): keep
   the first, which says what went wrong. */
static int
nft_fail (struct nft_ctx *nft, stack_error_t **err, const char *what)
{
  const char *msg = nft_ctx_get_error_buffer (nft);
  size_t len;

  if (msg == NULL || *msg == '\0')
    msg = "nft failed";
  len = strcspn (msg, "\n");
  return stack_error_set (err, EIO, "%s: %.*s", what, (int)len, msg);
}

static int
nft_run (const char *script, const char *what, stack_error_t **err)
{
  cleanup_nft struct nft_ctx *nft = nft_open (false);
  int ret;

  ret = nft_run_cmd_from_buffer (nft, script);
  if (ret != 0)
    return nft_fail (nft, err, what);
  return 0;
}

int
net_rules_apply (const net_rules_t *r, stack_error_t **err)
{
  cleanup_free char *script = NULL;
  int ret, forward = 0;

  ret = net_sysctl_read_int (IP_FORWARD, &forward, err);
  if (ret < 0)
    return -1;
  script = net_rules_script (r);
  if (forward == 0)
    {
      /* Turning forwarding on makes the host a router for every
         interface: only what touches a bridge of ours may be forwarded,
         the rest stays as the host had it. In the same transaction, so
         the rules never exist without the record. */
      char *with_guard = xasprintf (
          "%s"
          "add chain inet stack " FORWARD_GUARD
          " { type filter hook forward priority filter; policy accept; }\n"
          "flush chain inet stack " FORWARD_GUARD "\n"
          "add rule inet stack " FORWARD_GUARD " iifname != \"stk*\" oifname != \"stk*\" drop\n",
          script);
      free (script);
      script = with_guard;
    }
  ret = nft_run (script, "apply packet rules", err);
  if (ret < 0)
    return stack_error_wrap (err, "project `%s`", r->project);
  if (forward == 0)
    {
      ret = net_sysctl_write (IP_FORWARD, "1", err);
      if (ret < 0)
        return stack_error_wrap (err, "project `%s`: turn IPv4 forwarding on", r->project);
    }
  return 0;
}

/* The chains of table `inet stack`, from nft's JSON listing. *exists
   false: no table. */
static int
list_chains (json_t **chains, bool *exists, stack_error_t **err)
{
  cleanup_nft struct nft_ctx *nft = nft_open (true);
  json_auto_t *doc = NULL;
  json_error_t jerr;
  json_t *items;
  size_t i;
  int ret;

  /* the whole family, not `list table inet stack`: that fails when the
     table is missing, and we want "missing" as an answer, not an error */
  ret = nft_run_cmd_from_buffer (nft, "list ruleset inet");
  if (ret != 0)
    return nft_fail (nft, err, "list packet rules");
  doc = json_loads (nft_ctx_get_output_buffer (nft), 0, &jerr);
  if (doc == NULL)
    return stack_error_make (err, EIO, "list packet rules: nft's JSON: %s", jerr.text);
  *exists = false;
  *chains = json_array ();
  items = json_object_get (doc, "nftables");
  for (i = 0; i < json_array_size (items); i++)
    {
      json_t *item = json_array_get (items, i);
      json_t *t = json_object_get (item, "table");
      json_t *c = json_object_get (item, "chain");

      if (t != NULL && json_is_string (json_object_get (t, "name"))
          && strcmp (json_string_value (json_object_get (t, "name")), "stack") == 0)
        *exists = true;
      if (c != NULL && json_is_string (json_object_get (c, "table"))
          && strcmp (json_string_value (json_object_get (c, "table")), "stack") == 0)
        json_array_append (*chains, json_object_get (c, "name"));
    }
  return 0;
}

int
net_rules_remove (const char *project, stack_error_t **err)
{
  json_auto_t *chains = NULL;
  strbuf_t b = { 0 };
  cleanup_free char *script = NULL;
  bool exists = false, guard = false;
  size_t i, j, others = 0;
  int ret;

  ret = list_chains (&chains, &exists, err);
  if (ret < 0)
    return stack_error_wrap (err, "project `%s`", project);
  if (!exists)
    return 0;

  for (i = 0; i < json_array_size (chains); i++)
    {
      const char *n = json_string_value (json_array_get (chains, i));
      bool ours = false;

      if (n == NULL)
        continue;
      for (j = 0; j < ARRAY_SIZE (chain_suffixes); j++)
        {
          cleanup_free char *want
              = xasprintf ("%s%s-%s", chain_prefix (project), project, chain_suffixes[j]);
          if (strcmp (n, want) == 0)
            ours = true;
        }
      if (ours)
        sb_printf (&b, "delete chain inet stack %s\n", n);
      else if (strcmp (n, FORWARD_GUARD) == 0)
        guard = true;
      else
        others++;
    }

  /* the last project out takes the table (and forward-guard) with it */
  if (others == 0)
    {
      sb_free (&b);
      sb_puts (&b, "delete table inet stack\n");
    }
  script = sb_steal (&b);
  if (*script == '\0')
    return 0;
  ret = nft_run (script, "delete packet rules", err);
  if (ret < 0)
    return stack_error_wrap (err, "project `%s`", project);
  if (others == 0 && guard)
    {
      /* forward-guard records that ip_forward was 0 before us */
      ret = net_sysctl_write (IP_FORWARD, "0", err);
      if (ret < 0)
        return stack_error_wrap (err, "project `%s`: turn IPv4 forwarding back off", project);
    }
  return 0;
}
