/* graph.c — placeholder. */
#include "compose-internal.h"

int
graph_build (ld_t *ld, compose_project_t *p)
{
  (void) ld, (void) p;
  return 0;
}

int
compose_select (compose_project_t *p, const char *const *names, size_t n, bool *out,
                stack_error_t **err)
{
  (void) p, (void) names, (void) n, (void) out, (void) err;
  return 0;
}

size_t
compose_start_order (const compose_project_t *p, const bool *selected, size_t *order)
{
  size_t i;
  (void) selected;
  for (i = 0; i < p->n_services; i++)
    order[i] = i;
  return p->n_services;
}
