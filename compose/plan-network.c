/* plan-network.c — the networking part of a plan: which networks the
   project has, how each service joins them, its published ports and the
   names and resolvers it is given. Pure, like the rest of the plan: what
   the host already has (routes, taken ports) is checked by the lifecycle. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plan-ctx-internal.h"

static const char *
text_of (arena_t *a, const node_t *map, const char *key)
{
  const node_t *n = node_map_get (map, key);
  return n && n->kind != N_NULL ? node_text (a, n) : NULL;
}

static int
fail_at (arena_t *a, stack_error_t **err, const node_t *at, const char *path, const char *msg)
{
  plan_ctx_t c = { .a = a, .err = err };
  return plan_fail (&c, at, path, "%s", msg);
}

/* ipam.config[0] of a network node: subnet and gateway, IPv4 only. */
static int
network_ipam (arena_t *a, const node_t *net, const char *path, plan_network_t *out,
              stack_error_t **err)
{
  const node_t *config = node_map_get (node_map_get (net, "ipam"), "config");
  const node_t *pool, *n;
  const char *ppath;

  if (config == NULL || config->kind != N_SEQ || config->len == 0)
    return 0;
  pool = config->items[0];
  ppath = path_index (a, path_key (a, path_key (a, path, "ipam"), "config"), 0);
  if (config->len > 1)
    return fail_at (a, err, config->items[1], path_index (a, path_key (a, path, "ipam.config"), 1),
                    "stack gives a network one IPv4 subnet; keep one `config` entry");
  if ((n = node_map_get (pool, "subnet")) != NULL)
    {
      const char *s = node_text (a, n);
      out->subnet_node = n;
      if (strchr (s, ':'))
        return fail_at (a, err, n, path_key (a, ppath, "subnet"),
                        "IPv6 subnets are not supported yet; give an IPv4 subnet such as "
                        "10.5.0.0/24");
      if (!net_prefix_parse (s, &out->subnet) || out->subnet.len < 8 || out->subnet.len > 30)
        return fail_at (a, err, n, path_key (a, ppath, "subnet"),
                        arena_printf (a,
                                      "`%s` is not an IPv4 subnet of /8 to /30 with its host "
                                      "bits zero, such as 10.5.0.0/24",
                                      s));
    }
  if ((n = node_map_get (pool, "gateway")) != NULL)
    {
      const char *s = node_text (a, n);
      if (out->subnet.len == 0)
        return fail_at (a, err, n, path_key (a, ppath, "gateway"),
                        "a gateway needs a `subnet` beside it");
      if (!net_addr_parse (s, &out->gateway) || !net_prefix_host (out->subnet, out->gateway))
        return fail_at (a, err, n, path_key (a, ppath, "gateway"),
                        arena_printf (a, "`%s` is not a host address of the subnet `%s`", s,
                                      node_text (a, out->subnet_node)));
    }
  return 0;
}

static bool
network_used (const compose_project_t *p, const char *key)
{
  size_t i;

  for (i = 0; i < p->n_services; i++)
    if (node_map_find (node_map_get (p->services[i].node, "networks"), key))
      return true;
  return false;
}

int
plan_networks (arena_t *a, const compose_project_t *p, plan_network_t **out, size_t *n,
               stack_error_t **err)
{
  const node_t *nets = node_map_get (p->model, "networks");
  plan_network_t *v;
  size_t i;

  *out = NULL;
  *n = 0;
  if (nets == NULL || nets->kind != N_MAP)
    return 0;
  v = arena_alloc (a, (nets->len + 1) * sizeof *v);
  for (i = 0; i < nets->len; i++)
    {
      const node_t *net = nets->entries[i].value;
      const char *key = nets->entries[i].key, *path = path_key (a, "networks", key);
      const char *driver = text_of (a, net, "driver");
      const node_t *ext = node_map_get (net, "external"), *in = node_map_get (net, "internal");
      plan_network_t *pn;

      if (!network_used (p, key))
        continue;
      pn = &v[(*n)++];
      pn->key = key;
      pn->name = text_of (a, net, "name");
      if (pn->name == NULL)
        pn->name = arena_printf (a, "%s_%s", p->name, key);
      pn->external = ext && ext->kind == N_BOOL && ext->b;
      pn->internal = in && in->kind == N_BOOL && in->b;
      if (driver && strcmp (driver, "bridge") != 0 && !pn->external)
        return fail_at (a, err, node_map_get (net, "driver"), path_key (a, path, "driver"),
                        arena_printf (a,
                                      "the `%s` driver is not supported: stack makes bridge "
                                      "networks on this machine; remove `driver`",
                                      driver));
      if (network_ipam (a, net, path, pn, err) < 0)
        return -1;
    }
  *out = v;
  return 0;
}

/* ---- a service's side ---- */

static int
plan_attachments (plan_ctx_t *c)
{
  const node_t *nets = plan_get (c, "networks");
  const node_t *top = node_map_get (c->p->model, "networks");
  plan_attachment_t *v;
  size_t i;

  if (c->out->net != PLAN_NS_PRIVATE || nets == NULL || nets->kind != N_MAP)
    return 0;
  v = arena_alloc (c->a, (nets->len + 1) * sizeof *v);
  for (i = 0; i < nets->len; i++)
    {
      const node_t *att = nets->entries[i].value, *addr;
      const char *key = nets->entries[i].key;
      const char *path = path_key (c->a, plan_key (c, "networks"), key);
      plan_attachment_t *pa = &v[i];

      pa->network = key;
      pa->aliases = plan_strv (c, node_map_get (att, "aliases"));
      if ((addr = node_map_get (att, "ipv4_address")) != NULL && addr->kind != N_NULL)
        {
          plan_network_t net = { 0 };
          const char *s = node_text (c->a, addr);
          stack_error_t *ignored = NULL;

          pa->address_node = addr;
          /* Docker's rule: a fixed address only on a network whose subnet
             the file gives, so that it cannot clash with a chosen one */
          if (network_ipam (c->a, node_map_get (top, key), "networks", &net, &ignored) < 0)
            stack_error_free (&ignored);
          if (net.subnet.len == 0)
            return plan_fail (c, addr, path_key (c->a, path, "ipv4_address"),
                              "a fixed address needs the network's subnet: give "
                              "`networks.%s.ipam.config[0].subnet`",
                              key);
          if (!net_addr_parse (s, &pa->ipv4_address)
              || !net_prefix_host (net.subnet, pa->ipv4_address)
              || pa->ipv4_address == (net.gateway ? net.gateway : net_gateway (net.subnet)))
            return plan_fail (c, addr, path_key (c->a, path, "ipv4_address"),
                              "`%s` is not a free host address of the subnet `%s` (the first "
                              "one is the gateway's)",
                              s, node_text (c->a, net.subnet_node));
        }
    }
  c->out->attachments = v;
  c->out->n_attachments = nets->len;
  return 0;
}

/* "8080" or "8000-8010" into lo..hi. */
static bool
parse_port_range (const char *s, uint16_t *lo, uint16_t *hi)
{
  char *end;
  unsigned long a, b;

  a = strtoul (s, &end, 10);
  b = a;
  if (end == s)
    return false;
  if (*end == '-')
    {
      const char *t = end + 1;
      b = strtoul (t, &end, 10);
      if (end == t)
        return false;
    }
  if (*end || a < 1 || a > 65535 || b < a || b > 65535)
    return false;
  *lo = (uint16_t)a;
  *hi = (uint16_t)b;
  return true;
}

static int
plan_ports (plan_ctx_t *c)
{
  const node_t *ports = plan_get (c, "ports");
  plan_port_t *v;
  size_t i, n = 0;

  if (ports == NULL || ports->kind != N_SEQ || ports->len == 0)
    return 0;
  /* Docker discards ports with network_mode: host (the service listens on
     the host already) and none; with service:NAME it refuses them */
  if (c->out->net == PLAN_NS_HOST || c->out->net == PLAN_NS_NONE)
    return 0;
  if (c->out->net == PLAN_NS_SERVICE)
    return plan_fail (c, ports->items[0], path_index (c->a, plan_key (c, "ports"), 0),
                      "a service that shares the network of `%s` cannot publish ports; "
                      "publish them on `%s`",
                      c->out->net_service, c->out->net_service);
  v = arena_alloc (c->a, ports->len * sizeof *v);
  for (i = 0; i < ports->len; i++)
    {
      const node_t *p = ports->items[i], *target = node_map_get (p, "target");
      const char *path = path_index (c->a, plan_key (c, "ports"), i);
      const char *ip = text_of (c->a, p, "host_ip");
      const char *pub = text_of (c->a, p, "published");
      const char *proto = text_of (c->a, p, "protocol");
      plan_port_t *pp = &v[n++];
      long long t = 0;

      pp->where = p->mark.src ? arena_printf (c->a, "%s:%u:%u: %s", p->mark.src->path, p->mark.line,
                                              p->mark.col, path)
                              : path;
      if (ip && *ip && !net_addr_parse (ip, &pp->host_ip))
        return plan_fail (c, p, path_key (c->a, path, "host_ip"),
                          strchr (ip, ':') ? "`%s`: IPv6 host addresses are not supported yet; "
                                             "publish on an IPv4 address such as 127.0.0.1"
                                           : "`%s` is not an IPv4 address",
                          ip);
      if (pub && *pub && !parse_port_range (pub, &pp->host_lo, &pp->host_hi))
        return plan_fail (c, p, path_key (c->a, path, "published"),
                          "`%s` is not a host port (1-65535) or range such as 8000-8010", pub);
      if (proto == NULL || strcmp (proto, "tcp") == 0)
        pp->protocol = NET_TCP;
      else if (strcmp (proto, "udp") == 0)
        pp->protocol = NET_UDP;
      else
        return plan_fail (c, p, path_key (c->a, path, "protocol"),
                          "`%s` is not supported; use tcp or udp", proto);
      if (!scalar_to_int (target, &t) || t < 1 || t > 65535)
        return plan_fail (c, p, path_key (c->a, path, "target"),
                          "the container port must be 1-65535");
      pp->container_port = (uint16_t)t;
    }
  c->out->ports = v;
  c->out->n_ports = n;
  return 0;
}

/* "name=ip" (normalized extra_hosts) and "service:alias" (links). */
static const plan_host_t *
host_pairs (plan_ctx_t *c, const node_t *seq, char sep, bool swap, size_t *n)
{
  plan_host_t *v;
  size_t i;

  *n = 0;
  if (seq == NULL || seq->kind != N_SEQ || seq->len == 0)
    return NULL;
  v = arena_alloc (c->a, seq->len * sizeof *v);
  for (i = 0; i < seq->len; i++)
    {
      const char *s = node_text (c->a, seq->items[i]);
      const char *at = strchr (s, sep);
      const char *left = at ? arena_strndup (c->a, s, (size_t)(at - s)) : s;
      const char *right = at ? at + 1 : s;
      /* links: "db" alone names nothing new: every service resolves */
      if (at == NULL && swap)
        continue;
      v[*n].name = swap ? right : left;
      v[*n].ip = swap ? left : right;
      (*n)++;
    }
  return v;
}

int
plan_network (plan_ctx_t *c)
{
  svc_plan_t *o = c->out;

  if (plan_attachments (c) < 0 || plan_ports (c) < 0)
    return -1;
  o->extra_hosts = host_pairs (c, plan_get (c, "extra_hosts"), '=', false, &o->n_extra_hosts);
  o->links = host_pairs (c, plan_get (c, "links"), ':', true, &o->n_links);
  o->dns = plan_strv (c, plan_get (c, "dns"));
  o->dns_search = plan_strv (c, plan_get (c, "dns_search"));
  o->dns_opt = plan_strv (c, plan_get (c, "dns_opt"));
  return 0;
}
