/* graph.c — the services' dependency graph: who waits for whom, in which
   waves they start, which subset `up SERVICE...` acts on, and every cycle
   that makes an order impossible.

   Edges come from the normalized `depends_on` map and from the references
   Compose treats as implicit dependencies (network_mode/ipc/pid/uts/cgroup
   `service:X`, volumes_from, links): a container cannot join a namespace or
   copy the volumes of one that does not exist yet.

   Everything here is iterative: a stack of 10,000 services in one chain must
   not need 10,000 stack frames. */
#include <stdlib.h>
#include <string.h>

#include "compose-internal.h"

/* Cycles reported per load: each one names a dependency no earlier message
   named, so the user sees every dependency that takes part in a cycle
   (until this cap, which bounds the work on pathological graphs). */
#define CYCLES_MAX DIAG_MAX_ERRORS

struct edge
{
  size_t to;
  mark_t mark;      /* where the dependency is written */
  const char *path; /* its key path, for the message */
};

struct graph
{
  ld_t *ld;
  compose_project_t *p;
  size_t n;
  struct edge *edges; /* all edges, grouped by source (CSR) */
  size_t *first;      /* edges of u: edges[first[u] .. first[u + 1]) */
  size_t n_edges, cap_edges;
};

/* ---- building the edge lists ---- */

struct builder
{
  struct edge *e; /* edges of the service being read */
  size_t len, cap;
  size_t *stamp; /* stamp[v] == u + 1: u -> v already recorded */
  size_t u;
};

static void
add_edge (struct graph *g, struct builder *b, const char *name, mark_t mark, const char *path)
{
  compose_service_t *s = compose_service_find (g->p, name);
  size_t v;

  /* not in the model: removed by profiles (required: false) or already
     reported by the normalizer as an undefined service */
  if (s == NULL)
    return;
  v = (size_t) (s - g->p->services);
  if (b->stamp[v] == b->u + 1)
    return; /* the first place that names it wins: depends_on comes first */
  b->stamp[v] = b->u + 1;
  if (b->len == b->cap)
    {
      b->cap = b->cap ? b->cap * 2 : 8;
      b->e = xrealloc (b->e, b->cap * sizeof *b->e);
    }
  b->e[b->len++] = (struct edge){ .to = v, .mark = mark, .path = path };
}

/* "service:NAME" in network_mode, ipc, pid, uts, cgroup. */
static void
add_namespace_edge (struct graph *g, struct builder *b, const node_t *svc, const char *spath,
                    const char *key)
{
  node_t *v = node_map_get (svc, key);
  const char *text;

  if (!node_is_scalar (v))
    return;
  text = node_text (g->ld->arena, v);
  if (text && str_has_prefix (text, "service:") && text[8] != '\0')
    add_edge (g, b, text + 8, v->mark, path_key (g->ld->arena, spath, key));
}

/* volumes_from `NAME[:ro|:rw]` (not `container:...`); links `NAME[:ALIAS]`. */
static void
add_list_edges (struct graph *g, struct builder *b, const node_t *svc, const char *spath,
                const char *key, bool skip_containers)
{
  node_t *list = node_map_get (svc, key);
  size_t i;

  if (list == NULL || list->kind != N_SEQ)
    return;
  for (i = 0; i < list->len; i++)
    {
      const node_t *it = list->items[i];
      const char *text, *colon;

      if (!node_is_scalar (it))
        continue;
      text = node_text (g->ld->arena, it);
      if (text == NULL || *text == '\0')
        continue;
      if (skip_containers && str_has_prefix (text, "container:"))
        continue;
      colon = strchr (text, ':');
      if (colon)
        text = arena_strndup (g->ld->arena, text, (size_t) (colon - text));
      add_edge (g, b, text, it->mark,
                path_index (g->ld->arena, path_key (g->ld->arena, spath, key), i));
    }
}

static int
edge_cmp (const void *a, const void *b)
{
  size_t x = ((const struct edge *) a)->to, y = ((const struct edge *) b)->to;
  return x < y ? -1 : x > y;
}

static void
graph_read (struct graph *g)
{
  arena_t *a = g->ld->arena;
  struct builder b = { 0 };
  size_t u, i;

  b.stamp = xzalloc ((g->n + 1) * sizeof *b.stamp);
  g->first = xzalloc ((g->n + 1) * sizeof *g->first);
  for (u = 0; u < g->n; u++)
    {
      compose_service_t *s = &g->p->services[u];
      const char *spath = path_key (a, "services", s->name);
      node_t *deps = node_map_get (s->node, "depends_on");

      b.u = u;
      b.len = 0;
      /* Normalized depends_on is a map NAME -> {condition, required, ...};
         anything else was reported by the normalizer. */
      if (deps && deps->kind == N_MAP)
        for (i = 0; i < deps->len; i++)
          add_edge (g, &b, deps->entries[i].key, deps->entries[i].key_mark,
                    path_key (a, spath, "depends_on"));
      add_namespace_edge (g, &b, s->node, spath, "network_mode");
      add_namespace_edge (g, &b, s->node, spath, "ipc");
      add_namespace_edge (g, &b, s->node, spath, "pid");
      add_namespace_edge (g, &b, s->node, spath, "uts");
      add_namespace_edge (g, &b, s->node, spath, "cgroup");
      add_list_edges (g, &b, s->node, spath, "volumes_from", true);
      add_list_edges (g, &b, s->node, spath, "links", false);

      if (b.len > 1)
        qsort (b.e, b.len, sizeof *b.e, edge_cmp);
      if (g->n_edges + b.len >= g->cap_edges)
        {
          g->cap_edges = (g->n_edges + b.len + 1) * 2;
          g->edges = xrealloc (g->edges, g->cap_edges * sizeof *g->edges);
        }
      if (b.len)
        memcpy (g->edges + g->n_edges, b.e, b.len * sizeof *b.e);
      g->first[u] = g->n_edges;
      g->n_edges += b.len;

      s->n_deps = b.len;
      s->deps = arena_alloc (a, (b.len + 1) * sizeof *s->deps);
      for (i = 0; i < b.len; i++)
        s->deps[i] = b.e[i].to;
      s->wave = 0;
    }
  g->first[g->n] = g->n_edges;
  free (b.e);
  free (b.stamp);
}

/* ---- waves (Kahn's algorithm, dependencies first) ---- */

/* Returns how many services got a wave; fewer than n means a cycle. */
static size_t
graph_waves (struct graph *g)
{
  cleanup_free size_t *left = xzalloc ((g->n + 1) * sizeof *left);
  cleanup_free size_t *rfirst = xzalloc ((g->n + 2) * sizeof *rfirst);
  cleanup_free size_t *rev = xzalloc ((g->n_edges + 1) * sizeof *rev);
  cleanup_free size_t *queue = xzalloc ((g->n + 1) * sizeof *queue);
  compose_service_t *sv = g->p->services;
  size_t head = 0, tail = 0, u, e, max_wave = 0;

  /* dependents of each service, the reverse edges, in CSR form */
  for (e = 0; e < g->n_edges; e++)
    rfirst[g->edges[e].to + 1]++;
  for (u = 0; u < g->n; u++)
    rfirst[u + 1] += rfirst[u];
  for (u = 0; u < g->n; u++)
    for (e = g->first[u]; e < g->first[u + 1]; e++)
      rev[rfirst[g->edges[e].to] + left[g->edges[e].to]++] = u;

  for (u = 0; u < g->n; u++)
    {
      left[u] = g->first[u + 1] - g->first[u];
      if (left[u] == 0)
        queue[tail++] = u;
    }
  while (head < tail)
    {
      u = queue[head++];
      if (sv[u].wave > max_wave)
        max_wave = sv[u].wave;
      for (e = rfirst[u]; e < rfirst[u + 1]; e++)
        {
          size_t w = rev[e];
          if (sv[w].wave < sv[u].wave + 1)
            sv[w].wave = sv[u].wave + 1;
          if (--left[w] == 0)
            queue[tail++] = w;
        }
    }
  g->p->n_waves = g->n ? max_wave + 1 : 0;
  return tail;
}

/* ---- cycles ---- */

/* Strongly connected components (Tarjan), with an explicit stack. comp[u]
   receives the component id of u. */
static void
graph_scc (const struct graph *g, size_t *comp)
{
  const size_t none = (size_t) -1;
  cleanup_free size_t *index = xmalloc ((g->n + 1) * sizeof *index);
  cleanup_free size_t *low = xmalloc ((g->n + 1) * sizeof *low);
  cleanup_free bool *on_stack = xzalloc ((g->n + 1) * sizeof *on_stack);
  cleanup_free size_t *stack = xmalloc ((g->n + 1) * sizeof *stack);
  cleanup_free size_t *call = xmalloc ((g->n + 1) * sizeof *call);  /* DFS path */
  cleanup_free size_t *next = xmalloc ((g->n + 1) * sizeof *next);  /* next edge to try */
  size_t counter = 0, sp = 0, depth, root, n_comp = 0;

  for (root = 0; root < g->n; root++)
    index[root] = none;
  for (root = 0; root < g->n; root++)
    {
      if (index[root] != none)
        continue;
      depth = 0;
      call[depth++] = root;
      next[root] = g->first[root];
      index[root] = low[root] = counter++;
      stack[sp++] = root;
      on_stack[root] = true;
      while (depth > 0)
        {
          size_t u = call[depth - 1];
          if (next[u] < g->first[u + 1])
            {
              size_t v = g->edges[next[u]++].to;
              if (index[v] == none)
                {
                  index[v] = low[v] = counter++;
                  next[v] = g->first[v];
                  stack[sp++] = v;
                  on_stack[v] = true;
                  call[depth++] = v;
                }
              else if (on_stack[v] && index[v] < low[u])
                low[u] = index[v];
              continue;
            }
          /* u is finished */
          depth--;
          if (depth > 0 && low[u] < low[call[depth - 1]])
            low[call[depth - 1]] = low[u];
          if (low[u] == index[u])
            {
              size_t w;
              do
                {
                  w = stack[--sp];
                  on_stack[w] = false;
                  comp[w] = n_comp;
                }
              while (w != u);
              n_comp++;
            }
        }
    }
}

static size_t
edge_find (const struct graph *g, size_t u, size_t v)
{
  size_t lo = g->first[u], hi = g->first[u + 1];
  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      if (g->edges[mid].to < v)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo; /* the caller knows the edge exists */
}

/* Shortest path v ~> u inside one component (BFS). Writes the cycle
   u, v, ..., (last before u) into cyc and returns its length. */
static size_t
shortest_cycle (const struct graph *g, const size_t *comp, size_t u, size_t v, size_t *prev,
                size_t *queue, size_t *cyc)
{
  const size_t none = (size_t) -1;
  size_t head = 0, tail = 0, k = 0, x, i, e;

  cyc[k++] = u;
  if (u == v)
    return k;
  for (i = 0; i < g->n; i++)
    prev[i] = none;
  prev[v] = v;
  queue[tail++] = v;
  while (head < tail && prev[u] == none)
    {
      x = queue[head++];
      for (e = g->first[x]; e < g->first[x + 1]; e++)
        {
          size_t y = g->edges[e].to;
          if (comp[y] != comp[u] || prev[y] != none)
            continue;
          prev[y] = x;
          queue[tail++] = y;
        }
    }
  /* walk back from u to v, then reverse into cyc[1..] */
  for (x = prev[u]; x != v; x = prev[x])
    cyc[k++] = x;
  cyc[k++] = v;
  for (i = 1; i < (k + 1) / 2; i++)
    {
      size_t t = cyc[i];
      cyc[i] = cyc[k - i];
      cyc[k - i] = t;
    }
  return k;
}

/* One message for the cycle cyc[0..k), named from its alphabetically first
   service (services are sorted by name, so that is the smallest index). */
static void
report_cycle (struct graph *g, const size_t *cyc, size_t k, bool *covered)
{
  compose_service_t *sv = g->p->services;
  cleanup_free char *names = NULL;
  strbuf_t sb = { 0 };
  size_t m = 0, i, e;

  for (i = 1; i < k; i++)
    if (cyc[i] < cyc[m])
      m = i;
  for (i = 0; i <= k; i++)
    {
      if (i > 0)
        sb_puts (&sb, " -> ");
      sb_puts (&sb, sv[cyc[(m + i) % k]].name);
    }
  names = sb_steal (&sb);
  for (i = 0; i < k; i++)
    covered[edge_find (g, cyc[i], cyc[(i + 1) % k])] = true;
  e = edge_find (g, cyc[m], cyc[(m + 1) % k]);
  diag_error (g->ld, g->edges[e].mark, g->edges[e].path,
              "dependency cycle: %s; no service in it can start first, remove one of these "
              "dependencies",
              names);
}

/* Every dependency that lies on a cycle is named in at least one message:
   for each one not named yet, the shortest cycle through it. */
static void
graph_report_cycles (struct graph *g)
{
  cleanup_free size_t *comp = xmalloc ((g->n + 1) * sizeof *comp);
  cleanup_free bool *covered = xzalloc ((g->n_edges + 1) * sizeof *covered);
  cleanup_free size_t *prev = xmalloc ((g->n + 1) * sizeof *prev);
  cleanup_free size_t *queue = xmalloc ((g->n + 1) * sizeof *queue);
  cleanup_free size_t *cyc = xmalloc ((g->n + 1) * sizeof *cyc);
  size_t u, e, reported = 0;

  graph_scc (g, comp);
  for (u = 0; u < g->n; u++)
    for (e = g->first[u]; e < g->first[u + 1]; e++)
      {
        size_t v = g->edges[e].to, k;
        if (comp[u] != comp[v] || covered[e])
          continue;
        if (reported == CYCLES_MAX || diag_full (g->ld))
          return;
        k = shortest_cycle (g, comp, u, v, prev, queue, cyc);
        report_cycle (g, cyc, k, covered);
        reported++;
      }
}

int
graph_build (ld_t *ld, compose_project_t *p)
{
  struct graph g = { .ld = ld, .p = p, .n = p->n_services };
  size_t placed;
  int ret = 0;

  graph_read (&g);
  placed = graph_waves (&g);
  if (placed < g.n)
    {
      graph_report_cycles (&g);
      ret = -1;
    }
  free (g.edges);
  free (g.first);
  return ret;
}

/* ---- what the commands use ---- */

int
compose_select (compose_project_t *p, const char *const *names, size_t n, bool *out,
                stack_error_t **err)
{
  cleanup_free size_t *stack = NULL;
  strbuf_t unknown = { 0 };
  size_t i, sp = 0, n_unknown = 0;

  if (p->n_services)
    memset (out, 0, p->n_services * sizeof *out);
  stack = xmalloc ((p->n_services + 1) * sizeof *stack);
  for (i = 0; i < n; i++)
    {
      compose_service_t *s = compose_service_find (p, names[i]);
      size_t u;
      if (s == NULL)
        {
          sb_printf (&unknown, "%s%s", n_unknown++ ? ", " : "", names[i]);
          continue;
        }
      u = (size_t) (s - p->services);
      if (!out[u])
        {
          out[u] = true;
          stack[sp++] = u;
        }
    }
  if (n_unknown)
    {
      cleanup_free char *list = sb_steal (&unknown);
      if (p->n_services)
        memset (out, 0, p->n_services * sizeof *out);
      return stack_error_make (err, 0, "no such service: %s", list);
    }
  /* everything the named services depend on, transitively */
  while (sp > 0)
    {
      compose_service_t *s = &p->services[stack[--sp]];
      for (i = 0; i < s->n_deps; i++)
        if (!out[s->deps[i]])
          {
            out[s->deps[i]] = true;
            stack[sp++] = s->deps[i];
          }
    }
  return 0;
}

size_t
compose_start_order (const compose_project_t *p, const bool *selected, size_t *order)
{
  cleanup_free size_t *start = xzalloc ((p->n_waves + 2) * sizeof *start);
  size_t i, w, k = 0;

  /* a stable counting sort by wave; within a wave, index order is name order */
  for (i = 0; i < p->n_services; i++)
    if (selected == NULL || selected[i])
      {
        w = p->services[i].wave < p->n_waves ? p->services[i].wave : 0;
        start[w + 1]++;
        k++;
      }
  for (w = 0; w < p->n_waves; w++)
    start[w + 1] += start[w];
  for (i = 0; i < p->n_services; i++)
    if (selected == NULL || selected[i])
      {
        w = p->services[i].wave < p->n_waves ? p->services[i].wave : 0;
        order[start[w]++] = i;
      }
  return k;
}
