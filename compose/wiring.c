/* wiring.c — a project's networks on the host: its bridges and their
   subnets, every container's address, interfaces, published ports and
   packet rules, and the names each container resolves.

   Names: every address is chosen before the first container starts, so
   each container gets a complete /etc/hosts (every container of the
   networks it joins, by container name, service name and aliases) rather
   than a DNS server in the supervisor: nothing listens, nothing forwards
   queries, and it works with every libc. docs/networking.md says more. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lifecycle-internal.h"

/* "stk" + a hash of what it names: at most 15 bytes, stable across runs. */
static void
link_name (char *buf, size_t size, const char *kind, const char *a, const char *b)
{
  uint32_t h = 2166136261u; /* FNV-1a */
  const char *s;

  for (s = a; *s; s++)
    h = (h ^ (uint8_t)*s) * 16777619u;
  h = (h ^ '/') * 16777619u;
  for (s = b; *s; s++)
    h = (h ^ (uint8_t)*s) * 16777619u;
  snprintf (buf, size, "stk%s%08x", kind, h);
}

static sv_network_t *
net_of (supervisor_t *sv, const char *key)
{
  size_t i;

  for (i = 0; i < sv->n_nets; i++)
    if (strcmp (sv->nets[i].plan->key, key) == 0)
      return &sv->nets[i];
  return NULL;
}

/* ---- other projects: a network of theirs may be our `external` one ---- */

typedef struct foreign
{
  const char *name;   /* a network name, or NULL */
  const char *bridge; /* a bridge, or NULL */
  const char *self;   /* our project: skipped */
  char *found_bridge, *found_subnet;
  uint32_t *used; /* addresses other projects have on `bridge` */
  size_t n_used;
} foreign_t;

static void
scan_projects (foreign_t *f)
{
  DIR *d = opendir (stack_run ());
  struct dirent *e;

  while (d && (e = readdir (d)) != NULL)
    {
      cleanup_free char *dir = NULL;
      stack_error_t *err = NULL;
      state_t *st = NULL;
      size_t i, j;

      if (e->d_name[0] == '.' || strcmp (e->d_name, f->self) == 0)
        continue;
      dir = xasprintf ("%s/%s", stack_run (), e->d_name);
      if (state_load (dir, &st, &err) < 0 || st == NULL)
        {
          stack_error_free (&err);
          continue;
        }
      for (i = 0; i < st->n_networks; i++)
        if (f->name && !f->found_bridge && st->networks[i].created
            && strcmp (st->networks[i].name, f->name) == 0)
          {
            f->found_bridge = xstrdup (st->networks[i].bridge);
            f->found_subnet = xstrdup (st->networks[i].subnet);
          }
      for (i = 0; f->bridge && i < st->n_containers; i++)
        {
          json_t *ep;
          json_array_foreach (st->containers[i].endpoints, j, ep)
          {
            const char *br = json_string_value (json_object_get (ep, "bridge"));
            uint32_t a;
            if (br && strcmp (br, f->bridge) == 0
                && net_addr_parse (json_string_value (json_object_get (ep, "ip")) ?: "", &a))
              {
                f->used = xrealloc (f->used, (f->n_used + 1) * sizeof *f->used);
                f->used[f->n_used++] = a;
              }
          }
        }
      state_free (st);
    }
  if (d)
    closedir (d);
}

/* An external network: another project's (by its name), else a bridge of
   the host of that name. */
static int
find_external (supervisor_t *sv, const plan_network_t *pn, sv_network_t *out, stack_error_t **err)
{
  foreign_t f = { .name = pn->name, .self = sv->project->name };
  net_bridge_t b;
  int ret = 0;

  scan_projects (&f);
  if (f.found_bridge && strlen (f.found_bridge) < sizeof out->bridge
      && net_prefix_parse (f.found_subnet, &out->subnet))
    {
      strcpy (out->bridge, f.found_bridge);
      out->gateway = net_gateway (out->subnet);
    }
  else if (net_bridge_lookup (pn->name, &b, err) == 0 && strlen (pn->name) < sizeof out->bridge)
    {
      strcpy (out->bridge, pn->name);
      out->subnet = b.subnet;
      out->gateway = b.gateway;
    }
  else
    {
      stack_error_free (err);
      ret = stack_error_make (err, 0,
                              "network `%s` is external but neither a running stack project "
                              "nor this host has it: start the project that makes it, or "
                              "create the bridge",
                              pn->name);
    }
  free (f.found_bridge);
  free (f.found_subnet);
  free (f.used);
  return ret;
}

/* ---- before anything exists ---- */

/* The project's state, when it runs (or ran): its own networks are not
   in the way of a reconciling `up`, nor of one after a crash (which
   removes them first). */
static state_t *
own_subnets (const char *project)
{
  cleanup_free char *run_dir = state_run_dir (project);
  stack_error_t *err = NULL;
  state_t *st = NULL;

  if (state_load (run_dir, &st, &err) < 0)
    stack_error_free (&err);
  return st;
}

static bool
is_own (const state_t *own, const char *name, net_prefix_t p)
{
  char a[20];
  size_t i;

  net_prefix_format (p, a, sizeof a);
  for (i = 0; own && i < own->n_networks; i++)
    if (own->networks[i].created && strcmp (own->networks[i].name, name) == 0
        && own->networks[i].subnet && strcmp (own->networks[i].subnet, a) == 0)
      return true;
  return false;
}

int
wiring_check (supervisor_t *sv, stack_error_t **err)
{
  cleanup_free net_prefix_t *host = NULL;
  cleanup_state state_t *own = NULL;
  size_t n_host = 0, i, j, k, l;

  if (plan_networks (sv->project->arena, sv->project, &sv->plan_nets, &sv->n_nets, err) < 0)
    return -1;
  if (net_host_prefixes (&host, &n_host, err) < 0)
    return -1;
  own = own_subnets (sv->project->name);
  for (i = 0; i < sv->n_nets; i++)
    {
      const plan_network_t *pn = &sv->plan_nets[i];
      if (pn->external || pn->subnet.len == 0)
        continue;
      for (j = 0; j < n_host; j++)
        if (net_prefix_overlaps (pn->subnet, host[j]) && !is_own (own, pn->name, host[j]))
          {
            char a[20], b[20];
            const node_t *n = pn->subnet_node;
            return stack_error_make (
                err, 0,
                "%s:%u:%u: networks.%s.ipam.config[0].subnet: %s overlaps %s, which this "
                "host already has (an address or a route; maybe another project's network): "
                "choose another subnet, or leave it out and stack picks a free one",
                n->mark.src ? n->mark.src->path : "-", n->mark.line, n->mark.col, pn->key,
                net_prefix_format (pn->subnet, a, sizeof a), net_prefix_format (host[j], b, sizeof b));
          }
    }
  /* a fixed address taken twice on one network */
  for (i = 0; i < sv->n; i++)
    for (j = 0; j < sv->c[i]->plan.n_attachments; j++)
      for (k = i; k < sv->n; k++)
        for (l = k == i ? j + 1 : 0; l < sv->c[k]->plan.n_attachments; l++)
          {
            const plan_attachment_t *x = &sv->c[i]->plan.attachments[j];
            const plan_attachment_t *y = &sv->c[k]->plan.attachments[l];
            const node_t *n = y->address_node;
            char a[16];
            if (x->ipv4_address == 0 || x->ipv4_address != y->ipv4_address
                || strcmp (x->network, y->network) != 0)
              continue;
            return stack_error_make (
                err, 0, "%s:%u:%u: services.%s.networks.%s.ipv4_address: %s is service `%s`'s "
                        "already; give each service its own address",
                n->mark.src ? n->mark.src->path : "-", n->mark.line, n->mark.col,
                sv->c[k]->svc->name, y->network, net_addr_format (y->ipv4_address, a, sizeof a),
                sv->c[i]->svc->name);
          }
  return 0;
}

static const char *
proto_name (enum net_protocol p)
{
  return p == NET_UDP ? "udp" : "tcp";
}

int
wiring_reserve_ports (supervisor_t *sv, stack_error_t **err)
{
  size_t i, j, k, l;

  for (i = 0; i < sv->n; i++)
    {
      sv_container_t *c = sv->c[i];
      c->port_fds = xmalloc ((c->plan.n_ports + 1) * sizeof *c->port_fds);
      c->host_ports = xzalloc ((c->plan.n_ports + 1) * sizeof *c->host_ports);
      for (j = 0; j < c->plan.n_ports; j++)
        c->port_fds[j] = -1;
    }
  for (i = 0; i < sv->n; i++)
    for (j = 0; j < sv->c[i]->plan.n_ports; j++)
      {
        sv_container_t *c = sv->c[i];
        const plan_port_t *pp = &c->plan.ports[j];
        int fd = net_port_reserve (pp->host_ip, pp->host_lo, pp->host_hi, pp->protocol,
                                   &c->host_ports[j], err);
        if (fd >= 0)
          {
            c->port_fds[j] = fd;
            continue;
          }
        /* taken by this very file: say which service has it */
        for (k = 0; k <= i; k++)
          for (l = 0; l < sv->c[k]->plan.n_ports && (k < i || l < j); l++)
            {
              const plan_port_t *q = &sv->c[k]->plan.ports[l];
              uint16_t got = sv->c[k]->host_ports[l];
              if ((*err)->status == EADDRINUSE && q->protocol == pp->protocol
                  && got >= pp->host_lo && got <= pp->host_hi
                  && (q->host_ip == 0 || pp->host_ip == 0 || q->host_ip == pp->host_ip))
                {
                  stack_error_free (err);
                  return stack_error_make (err, 0,
                                           "%s: host port %u/%s is published by service `%s` "
                                           "already (%s); publish another one",
                                           pp->where, got, proto_name (pp->protocol),
                                           sv->c[k]->svc->name, q->where);
                }
            }
        return stack_error_wrap (err, "%s", pp->where);
      }
  return 0;
}

void
wiring_release_ports (supervisor_t *sv)
{
  size_t i, j;

  for (i = 0; i < sv->n; i++)
    {
      for (j = 0; sv->c[i]->port_fds && j < sv->c[i]->plan.n_ports; j++)
        if (sv->c[i]->port_fds[j] >= 0)
          close (sv->c[i]->port_fds[j]);
      free (sv->c[i]->port_fds);
      free (sv->c[i]->host_ports);
      free (sv->c[i]->addrs);
      sv->c[i]->port_fds = NULL;
      sv->c[i]->host_ports = NULL;
      sv->c[i]->addrs = NULL;
    }
}

/* ---- bridges, addresses, rules ---- */

static int
bridges_up (supervisor_t *sv, stack_error_t **err)
{
  cleanup_free net_prefix_t *taken = NULL;
  size_t n_taken = 0, i;

  if (net_host_prefixes (&taken, &n_taken, err) < 0)
    return -1;
  taken = xrealloc (taken, (n_taken + sv->n_nets + 1) * sizeof *taken);
  for (i = 0; i < sv->n_nets; i++)
    {
      sv_network_t *n = &sv->nets[i];
      const plan_network_t *pn = n->plan;
      st_network_t *st;
      char subnet[20], gateway[16];
      net_bridge_t b;

      if (pn->external)
        {
          if (find_external (sv, pn, n, err) < 0)
            return -1;
        }
      else
        {
          n->created = true;
          link_name (n->bridge, sizeof n->bridge, "br", "net", pn->name);
          if (pn->subnet.len)
            n->subnet = pn->subnet;
          else if (!net_pick_subnet (taken, n_taken, &n->subnet))
            return stack_error_make (err, 0,
                                     "network `%s`: every /24 of 172.18-31.0.0/16 and "
                                     "10.89.0.0/16 is in use on this host; give it a subnet",
                                     pn->name);
          n->gateway = pn->gateway ? pn->gateway : net_gateway (n->subnet);
          taken[n_taken++] = n->subnet;
        }
      /* recorded before it exists */
      st = state_add_network (sv->st);
      st->key = xstrdup (pn->key);
      st->name = xstrdup (pn->name);
      st->bridge = xstrdup (n->bridge);
      st->subnet = xstrdup (net_prefix_format (n->subnet, subnet, sizeof subnet));
      st->gateway = xstrdup (net_addr_format (n->gateway, gateway, sizeof gateway));
      st->created = n->created;
      st->internal = pn->internal;
      if (state_save (sv->st, sv->run_dir, err) < 0)
        return -1;
      if (!n->created)
        continue;
      b.name = n->bridge;
      b.subnet = n->subnet;
      b.gateway = n->gateway;
      if (net_bridge_create (&b, err) < 0)
        {
          if ((*err)->status == EEXIST)
            {
              /* not ours: ours were removed with the stale state */
              st->created = false;
              state_save (sv->st, sv->run_dir, NULL);
            }
          return stack_error_wrap (err, "network `%s`", pn->name);
        }
      progress_of (sv, "Network", pn->name, "Created");
    }
  return 0;
}

static int
addresses (supervisor_t *sv, stack_error_t **err)
{
  size_t i, j, k;

  for (i = 0; i < sv->n; i++)
    sv->c[i]->addrs = xzalloc ((sv->c[i]->plan.n_attachments + 1) * sizeof (uint32_t));
  for (k = 0; k < sv->n_nets; k++)
    {
      sv_network_t *n = &sv->nets[k];
      foreign_t f = { .bridge = n->bridge, .self = sv->project->name };
      cleanup_free uint32_t *used = NULL;
      size_t n_used = 0;

      if (!n->created)
        scan_projects (&f);
      used = xmalloc ((f.n_used + 2 * sv->n + 2) * sizeof *used);
      if (f.n_used)
        memcpy (used, f.used, f.n_used * sizeof *used);
      n_used = f.n_used;
      free (f.used);
      used[n_used++] = n->gateway;
      /* fixed addresses first: a chosen one must not take them */
      for (i = 0; i < sv->n; i++)
        for (j = 0; j < sv->c[i]->plan.n_attachments; j++)
          if (strcmp (sv->c[i]->plan.attachments[j].network, n->plan->key) == 0
              && sv->c[i]->plan.attachments[j].ipv4_address)
            used[n_used++] = sv->c[i]->addrs[j] = sv->c[i]->plan.attachments[j].ipv4_address;
      for (i = 0; i < sv->n; i++)
        for (j = 0; j < sv->c[i]->plan.n_attachments; j++)
          if (strcmp (sv->c[i]->plan.attachments[j].network, n->plan->key) == 0
              && sv->c[i]->addrs[j] == 0)
            {
              if ((sv->c[i]->addrs[j] = net_next_address (n->subnet, used, n_used)) == 0)
                return stack_error_make (err, 0, "network `%s`: no address left for `%s`",
                                         n->plan->name, sv->c[i]->svc->name);
              used[n_used++] = sv->c[i]->addrs[j];
            }
    }
  return 0;
}

static int
rules_up (supervisor_t *sv, stack_error_t **err)
{
  cleanup_free net_rules_bridge_t *bridges = xzalloc ((sv->n_nets + 1) * sizeof *bridges);
  cleanup_free net_port_t *ports = NULL;
  net_rules_t r = { .project = sv->project->name, .bridges = bridges };
  size_t i, j, n_ports = 0;

  for (i = 0; i < sv->n; i++)
    n_ports += sv->c[i]->plan.n_ports;
  ports = xzalloc ((n_ports + 1) * sizeof *ports);
  r.ports = ports;
  /* only our own bridges get filter rules: an external bridge's traffic is
     its owner's business */
  for (i = 0; i < sv->n_nets; i++)
    if (sv->nets[i].created)
      {
        bridges[r.n_bridges].name = sv->nets[i].bridge;
        bridges[r.n_bridges].subnet = sv->nets[i].subnet;
        bridges[r.n_bridges++].internal = sv->nets[i].plan->internal;
      }
  for (i = 0; i < sv->n; i++)
    {
      sv_container_t *c = sv->c[i];
      sv_network_t *n = NULL;
      uint32_t addr = 0;

      /* ports reach the container on its first network that is not
         internal (Docker publishes nothing on internal networks) */
      for (j = 0; j < c->plan.n_attachments && n == NULL; j++)
        if (!(n = net_of (sv, c->plan.attachments[j].network))->plan->internal)
          addr = c->addrs[j];
        else
          n = NULL;
      if (c->plan.n_ports && n == NULL)
        return stack_error_make (err, 0,
                                 "%s: service `%s` publishes ports but is on no network that "
                                 "is not internal",
                                 c->plan.ports[0].where, c->svc->name);
      for (j = 0; j < c->plan.n_ports; j++)
        {
          net_port_t *p = &ports[r.n_ports++];
          p->host_ip = c->plan.ports[j].host_ip;
          p->host_port = c->host_ports[j];
          p->addr = addr;
          p->container_port = c->plan.ports[j].container_port;
          p->protocol = c->plan.ports[j].protocol;
          p->bridge = n->bridge;
        }
    }
  if (r.n_bridges == 0 && r.n_ports == 0)
    return 0;
  sv->st->rules = true;
  if (state_save (sv->st, sv->run_dir, err) < 0)
    return -1;
  return net_rules_apply (&r, err);
}

int
wiring_up (supervisor_t *sv, stack_error_t **err)
{
  int lock, ret;
  size_t i;

  sv->nets = xzalloc ((sv->n_nets + 1) * sizeof *sv->nets);
  for (i = 0; i < sv->n_nets; i++)
    sv->nets[i].plan = &sv->plan_nets[i];
  if ((lock = net_lock (err)) < 0)
    return -1;
  ret = bridges_up (sv, err) < 0 || addresses (sv, err) < 0 || rules_up (sv, err) < 0 ? -1 : 0;
  net_unlock (lock);
  return ret;
}

int
wiring_add (supervisor_t *sv, sv_container_t *c, const sv_container_t *replaced,
             stack_error_t **err)
{
  size_t i, j, k, l;

  c->addrs = xzalloc ((c->plan.n_attachments + 1) * sizeof *c->addrs);
  for (j = 0; j < c->plan.n_attachments; j++)
    {
      const plan_attachment_t *at = &c->plan.attachments[j];
      sv_network_t *n = net_of (sv, at->network);
      cleanup_free uint32_t *used = NULL;
      size_t n_used = 0;

      if (n == NULL)
        return stack_error_make (err, 0,
                                 "service `%s` joins network `%s`, which the running project "
                                 "does not have: `down` and `up` the project to add networks",
                                 c->svc->name, at->network);
      for (k = 0; replaced && k < replaced->plan.n_attachments && at->ipv4_address == 0; k++)
        if (strcmp (replaced->plan.attachments[k].network, at->network) == 0 && replaced->addrs)
          c->addrs[j] = replaced->addrs[k]; /* it keeps its address */
      if (c->addrs[j])
        continue;
      used = xmalloc ((sv->n * 4 + 2) * sizeof *used);
      used[n_used++] = n->gateway;
      for (i = 0; i < sv->n; i++)
        for (l = 0; sv->c[i] != replaced && sv->c[i]->addrs && l < sv->c[i]->plan.n_attachments;
             l++)
          if (strcmp (sv->c[i]->plan.attachments[l].network, at->network) == 0)
            {
              if (n_used % 4 == 0)
                used = xrealloc (used, (n_used + 5) * sizeof *used);
              used[n_used++] = sv->c[i]->addrs[l];
            }
      if (at->ipv4_address)
        {
          for (i = 0; i < n_used; i++)
            if (used[i] == at->ipv4_address)
              return stack_error_make (err, 0, "service `%s`: ipv4_address on `%s` is taken",
                                       c->svc->name, at->network);
          c->addrs[j] = at->ipv4_address;
        }
      else if ((c->addrs[j] = net_next_address (n->subnet, used, n_used)) == 0)
        return stack_error_make (err, 0, "network `%s`: no address left for `%s`", n->plan->name,
                                 c->svc->name);
    }
  c->port_fds = xmalloc ((c->plan.n_ports + 1) * sizeof *c->port_fds);
  c->host_ports = xzalloc ((c->plan.n_ports + 1) * sizeof *c->host_ports);
  for (j = 0; j < c->plan.n_ports; j++)
    c->port_fds[j] = -1;
  for (j = 0; j < c->plan.n_ports; j++)
    {
      const plan_port_t *pp = &c->plan.ports[j];
      if ((c->port_fds[j] = net_port_reserve (pp->host_ip, pp->host_lo, pp->host_hi, pp->protocol,
                                              &c->host_ports[j], err))
          < 0)
        return stack_error_wrap (err, "%s", pp->where);
    }
  return 0;
}

int
wiring_rules (supervisor_t *sv, stack_error_t **err)
{
  int lock, ret;

  if ((lock = net_lock (err)) < 0)
    return -1;
  ret = rules_up (sv, err);
  net_unlock (lock);
  return ret;
}

/* ---- names ---- */

/* The container whose network c uses: itself, or service:NAME's. */
static sv_container_t *
net_owner (supervisor_t *sv, sv_container_t *c)
{
  size_t i, hops;

  for (hops = 0; c->plan.net == PLAN_NS_SERVICE && hops < sv->n; hops++)
    {
      for (i = 0; i < sv->n && strcmp (sv->c[i]->svc->name, c->plan.net_service) != 0; i++)
        ;
      if (i == sv->n)
        break;
      c = sv->c[i];
    }
  return c;
}

static uint32_t
addr_on (sv_container_t *c, const char *network)
{
  size_t j;

  for (j = 0; j < c->plan.n_attachments; j++)
    if (strcmp (c->plan.attachments[j].network, network) == 0)
      return c->addrs ? c->addrs[j] : 0;
  return 0;
}

char *
wiring_hosts (supervisor_t *sv, sv_container_t *c)
{
  sv_container_t *o = net_owner (sv, c);
  const container_spec_t *spec = &c->plan.spec;
  const char *hostname = spec->hostname ? spec->hostname : sv_state (c)->name;
  strbuf_t b = { 0 };
  char a[16];
  size_t i, j, k;

  if (o->plan.net == PLAN_NS_HOST)
    {
      /* the host's network, the host's names (as Docker) */
      cleanup_free char *host = NULL;
      stack_error_t *e = NULL;
      if (read_file ("/etc/hosts", &host, NULL, &e) < 0)
        stack_error_free (&e);
      sb_puts (&b, host ? host : "127.0.0.1\tlocalhost\n");
    }
  else
    sb_puts (&b, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
  if (o->plan.net == PLAN_NS_PRIVATE && o->plan.n_attachments && o->addrs)
    {
      net_addr_format (o->addrs[0], a, sizeof a);
      if (spec->domainname && *spec->domainname)
        sb_printf (&b, "%s\t%s.%s %s\n", a, hostname, spec->domainname, hostname);
      else
        sb_printf (&b, "%s\t%s\n", a, hostname);
    }
  else if (o->plan.net != PLAN_NS_HOST)
    sb_printf (&b, "127.0.1.1\t%s\n", hostname);
  for (i = 0; i < c->plan.n_extra_hosts; i++)
    {
      const char *ip = c->plan.extra_hosts[i].ip;
      if (strcmp (ip, "host-gateway") == 0)
        {
          sv_network_t *n = o->plan.n_attachments ? net_of (sv, o->plan.attachments[0].network)
                                                   : NULL;
          ip = n ? net_addr_format (n->gateway, a, sizeof a) : "127.0.0.1";
        }
      sb_printf (&b, "%s\t%s\n", ip, c->plan.extra_hosts[i].name);
    }
  /* every container sharing a network with o: its names there */
  for (k = 0; k < o->plan.n_attachments; k++)
    {
      const char *net = o->plan.attachments[k].network;
      for (i = 0; i < sv->n; i++)
        {
          sv_container_t *x = sv->c[i];
          uint32_t addr = addr_on (x, net);
          const char *const *al = NULL;
          if (addr == 0)
            continue;
          for (j = 0; j < x->plan.n_attachments; j++)
            if (strcmp (x->plan.attachments[j].network, net) == 0)
              al = x->plan.attachments[j].aliases;
          sb_printf (&b, "%s\t%s %s", net_addr_format (addr, a, sizeof a), x->plan.spec.id,
                     x->svc->name);
          for (j = 0; al && al[j]; j++)
            sb_printf (&b, " %s", al[j]);
          for (j = 0; j < c->plan.n_links; j++)
            if (strcmp (c->plan.links[j].ip, x->svc->name) == 0)
              sb_printf (&b, " %s", c->plan.links[j].name);
          sb_putc (&b, '\n');
        }
    }
  return sb_steal (&b);
}

/* The host's resolv.conf; loopback name servers dropped (they mean nothing
   in the container's network namespace; Docker drops them too), and the
   service's dns, dns_search and dns_opt in place of the host's. */
char *
wiring_resolv (supervisor_t *sv, sv_container_t *c)
{
  sv_container_t *o = net_owner (sv, c);
  bool host = o->plan.net == PLAN_NS_HOST;
  cleanup_free char *text = NULL;
  stack_error_t *err = NULL;
  strbuf_t b = { 0 };
  char *line, *save = NULL;
  size_t i;

  sb_puts (&b, "");
  if (read_file ("/etc/resolv.conf", &text, NULL, &err) < 0)
    stack_error_free (&err);
  for (line = text ? strtok_r (text, "\n", &save) : NULL; line; line = strtok_r (NULL, "\n", &save))
    {
      bool ns = str_has_prefix (line, "nameserver");
      if (ns && (c->plan.dns || (!host && (strstr (line, " 127.") || strstr (line, "\t127.")
                                           || strstr (line, " ::1")))))
        continue;
      if ((str_has_prefix (line, "search") || str_has_prefix (line, "domain")) && c->plan.dns_search)
        continue;
      if (str_has_prefix (line, "options") && c->plan.dns_opt)
        continue;
      sb_printf (&b, "%s\n", line);
    }
  for (i = 0; c->plan.dns && c->plan.dns[i]; i++)
    sb_printf (&b, "nameserver %s\n", c->plan.dns[i]);
  if (c->plan.dns_search)
    {
      sb_puts (&b, "search");
      for (i = 0; c->plan.dns_search[i]; i++)
        sb_printf (&b, " %s", c->plan.dns_search[i]);
      sb_putc (&b, '\n');
    }
  if (c->plan.dns_opt)
    {
      sb_puts (&b, "options");
      for (i = 0; c->plan.dns_opt[i]; i++)
        sb_printf (&b, " %s", c->plan.dns_opt[i]);
      sb_putc (&b, '\n');
    }
  return sb_steal (&b);
}

/* ---- a container's interfaces ---- */

int
wiring_container (supervisor_t *sv, sv_container_t *c, stack_error_t **err)
{
  cleanup_free net_endpoint_t *eps = NULL;
  cleanup_close int netns = -1;
  cleanup_free char *path = NULL;
  json_t *endpoints = json_array (), *ports = json_array ();
  bool route = false;
  size_t j, n = 0;
  char a[16];
  st_container_t *st;

  for (j = 0; j < c->plan.n_ports; j++)
    json_array_append_new (
        ports, json_pack ("{s:s s:i s:i s:s}", "host_ip",
                          net_addr_format (c->plan.ports[j].host_ip, a, sizeof a), "host_port",
                          (int)c->host_ports[j], "container_port",
                          (int)c->plan.ports[j].container_port, "protocol",
                          proto_name (c->plan.ports[j].protocol)));
  eps = xzalloc ((c->plan.n_attachments + 1) * sizeof *eps);
  for (j = 0; j < c->plan.n_attachments; j++)
    {
      sv_network_t *net = net_of (sv, c->plan.attachments[j].network);
      net_endpoint_t *e = &eps[n++];
      char *host_if = arena_alloc (sv->project->arena, 16);
      link_name (host_if, 16, "v", c->plan.spec.id, net->plan->name);
      e->bridge = net->bridge;
      e->host_ifname = host_if;
      e->ifname = arena_printf (sv->project->arena, "eth%zu", j);
      e->subnet = net->subnet;
      e->addr = c->addrs[j];
      /* the default route: the first network with a way out */
      if (!route && !net->plan->internal)
        {
          e->gateway = net->gateway;
          route = true;
        }
      json_array_append_new (endpoints,
                             json_pack ("{s:s s:s s:s s:s s:s}", "network", net->plan->name,
                                        "bridge", net->bridge, "ifname", e->ifname, "host_ifname",
                                        host_if, "ip", net_addr_format (e->addr, a, sizeof a)));
    }
  st = sv_state (c);
  json_decref (st->endpoints);
  json_decref (st->ports);
  st->endpoints = endpoints;
  st->ports = ports;
  if (state_save (sv->st, sv->run_dir, err) < 0)
    return -1;
  if (c->plan.net != PLAN_NS_PRIVATE && c->plan.net != PLAN_NS_NONE)
    return 0;
  /* a restart: the last life's host ends go with its namespace, in the
     kernel's own time; the names are needed now */
  for (j = 0; j < n; j++)
    if (if_nametoindex (eps[j].host_ifname) != 0 && net_link_delete (eps[j].host_ifname, err) < 0)
      return -1;
  path = xasprintf ("/proc/%d/ns/net", (int)c->rt.pid);
  if ((netns = open (path, O_RDONLY | O_CLOEXEC)) < 0)
    return stack_error_make (err, errno, "open `%s`", path);
  return net_container_setup (netns, eps, n, err);
}

/* ---- down ---- */

int
wiring_down (state_t *st, stack_error_t **err)
{
  int lock, ret = 0;
  size_t i;

  if (st->n_networks == 0 && !st->rules)
    return 0;
  if ((lock = net_lock (err)) < 0)
    return -1;
  for (i = st->n_networks; i-- > 0;)
    {
      stack_error_t *e = NULL;
      if (!st->networks[i].created)
        continue;
      if (net_link_delete (st->networks[i].bridge, &e) < 0)
        {
          if (ret == 0)
            *err = e;
          else
            stack_error_free (&e);
          ret = -1;
          continue;
        }
      fprintf (stderr, " Network %s  Removed\n", st->networks[i].name);
    }
  /* Each container's veth pair went with its network namespace; the
     kernel destroys dying namespaces together, in one batch, while we
     deleted the bridges — one wait for all, where deleting each pair
     here would cost a grace period apiece (about 30 ms on this kernel).
     What is still there after a second is deleted. */
  for (i = 0; i < st->n_containers; i++)
    {
      json_t *ep;
      size_t j;
      json_array_foreach (st->containers[i].endpoints, j, ep)
      {
        const char *name = json_string_value (json_object_get (ep, "host_ifname"));
        stack_error_t *e = NULL;
        int tries;
        for (tries = 0; tries < 1000 && if_nametoindex (name) != 0; tries++)
          nanosleep (&(struct timespec){ 0, 1000000 }, NULL);
        if (if_nametoindex (name) != 0 && net_link_delete (name, &e) < 0)
          {
            if (ret == 0)
              *err = e;
            else
              stack_error_free (&e);
            ret = -1;
          }
      }
    }
  if (st->rules)
    {
      stack_error_t *e = NULL;
      if (net_rules_remove (st->project, &e) < 0)
        {
          if (ret == 0)
            *err = e;
          else
            stack_error_free (&e);
          ret = -1;
        }
    }
  net_unlock (lock);
  return ret;
}
